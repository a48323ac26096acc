package io.ferry.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AppliedVectorTest {

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void encodesAsReadableTextSortedByEntry() {
        AppliedVector vector = AppliedVector.of(Map.of("c:0", 77L, "a:0", 812L, "a:1", 3L));
        assertEquals("a:0=812,a:1=3,c:0=77", new String(vector.encode(), StandardCharsets.UTF_8));
        assertEquals("a:0=812,a:1=3,c:0=77", vector.toString());
    }

    @Test
    void decodingTheEncodingGivesAnEqualVector() {
        AppliedVector vector = AppliedVector.EMPTY.with("a", 0, 812).with("c", 0, 77).with("eu-1", 3, Long.MAX_VALUE);
        AppliedVector back = AppliedVector.decode(vector.encode());
        assertEquals(vector, back);
        assertEquals(vector.hashCode(), back.hashCode());
        assertEquals(812, back.applied("a", 0));
        assertEquals(77, back.applied("c", 0));
        assertEquals(Long.MAX_VALUE, back.applied("eu-1", 3));
        assertArrayEquals(vector.encode(), back.encode());
    }

    @Test
    void idsWithDashesAndUnderscoresRoundTrip() {
        AppliedVector vector = AppliedVector.EMPTY.with("us_east-2", 11, 5);
        assertEquals("us_east-2:11=5", vector.toString());
        assertEquals(5, AppliedVector.decode(vector.encode()).applied("us_east-2", 11));
    }

    @Test
    void aNullOrEmptyHeaderIsTheEmptyVector() {
        assertSame(AppliedVector.EMPTY, AppliedVector.decode(null));
        assertSame(AppliedVector.EMPTY, AppliedVector.decode(new byte[0]));
        assertTrue(AppliedVector.EMPTY.isEmpty());
        assertEquals(0, AppliedVector.EMPTY.encode().length);
        assertEquals(Map.of(), AppliedVector.EMPTY.asMap());
    }

    @Test
    void anEmptyMapIsTheEmptyVector() {
        assertSame(AppliedVector.EMPTY, AppliedVector.of(Map.of()));
    }

    @Test
    void appliedOfAMissingEntryIsMinusOne() {
        AppliedVector vector = AppliedVector.EMPTY.with("a", 0, 10);
        assertEquals(-1, vector.applied("a", 1));
        assertEquals(-1, vector.applied("c", 0));
        assertEquals(-1, AppliedVector.EMPTY.applied("a", 0));
    }

    @Test
    void offsetZeroIsAppliedAndDistinctFromMissing() {
        AppliedVector vector = AppliedVector.EMPTY.with("a", 0, 0);
        assertEquals(0, vector.applied("a", 0));
        assertFalse(vector.isEmpty());
    }

    @Test
    void withMovesAnEntryForwardAndLeavesTheOriginalUnchanged() {
        AppliedVector before = AppliedVector.EMPTY.with("a", 0, 5);
        AppliedVector after = before.with("a", 0, 9);
        assertEquals(9, after.applied("a", 0));
        assertEquals(5, before.applied("a", 0));
        assertEquals("a:0=5", before.toString()); // the cached encoding is the original's, not the copy's
    }

    @Test
    void withNeverMovesBackwardsAndReturnsTheSameInstanceWhenNothingChanges() {
        AppliedVector vector = AppliedVector.EMPTY.with("a", 0, 5);
        assertSame(vector, vector.with("a", 0, 5));
        assertSame(vector, vector.with("a", 0, 4));
        assertSame(vector, vector.with("a", 0, -1));
        assertEquals(5, vector.with("a", 0, 0).applied("a", 0));
    }

    @Test
    void withAddsAnEntryWithoutTouchingTheOthers() {
        AppliedVector vector = AppliedVector.EMPTY.with("a", 0, 5).with("c", 1, 2);
        assertEquals(Map.of("a:0", 5L, "c:1", 2L), vector.asMap());
    }

    @Test
    void withAllKeepsTheHigherOffsetOfEachEntry() {
        AppliedVector vector = AppliedVector.EMPTY.with("a", 0, 5).with("c", 1, 2);
        AppliedVector merged = vector.withAll(AppliedVector.EMPTY.with("a", 0, 3).with("c", 1, 9).with("a", 2, 1));
        assertEquals(Map.of("a:0", 5L, "c:1", 9L, "a:2", 1L), merged.asMap());
        assertSame(vector, vector.withAll(AppliedVector.EMPTY.with("a", 0, 4)));
    }

    @Test
    void asMapCannotBeModified() {
        AppliedVector vector = AppliedVector.EMPTY.with("a", 0, 5);
        assertThrows(UnsupportedOperationException.class, () -> vector.asMap().put("a:0", 1L));
    }

    @Test
    void ofCopiesItsInput() {
        java.util.HashMap<String, Long> input = new java.util.HashMap<>(Map.of("a:0", 1L));
        AppliedVector vector = AppliedVector.of(input);
        input.put("a:0", 99L);
        assertEquals(1, vector.applied("a", 0));
    }

    @Test
    void anEntryWithoutPartitionIsRejectedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AppliedVector.decode(utf8("a:0=1,c=7")));
        assertTrue(e.getMessage().contains("'c=7'"), e.getMessage());
        assertTrue(e.getMessage().contains(ReplicationPolicy.APPLIED_HEADER), e.getMessage());
    }

    @Test
    void anEntryWithoutOffsetIsRejectedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AppliedVector.decode(utf8("a:0")));
        assertTrue(e.getMessage().contains("'a:0'"), e.getMessage());
    }

    @Test
    void anEntryWithoutOriginIsRejectedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AppliedVector.decode(utf8(":0=4")));
        assertTrue(e.getMessage().contains("':0=4'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AppliedVector.decode(utf8("=4")));
        assertTrue(e.getMessage().contains("'=4'"), e.getMessage());
    }

    @Test
    void aNonNumericOffsetOrPartitionIsRejectedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AppliedVector.decode(utf8("a:0=lots")));
        assertTrue(e.getMessage().contains("'a:0=lots'"), e.getMessage());
        assertTrue(e.getMessage().contains("must be numbers"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AppliedVector.decode(utf8("a:x=4")));
        assertTrue(e.getMessage().contains("'a:x=4'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AppliedVector.decode(utf8("a:0=")));
        assertTrue(e.getMessage().contains("'a:0='"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AppliedVector.decode(utf8("a:0=99999999999999999999")));
        assertTrue(e.getMessage().contains("'a:0=99999999999999999999'"), e.getMessage());
    }

    @Test
    void anEmptyEntryBetweenCommasIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AppliedVector.decode(utf8("a:0=1,,c:0=2")));
        assertTrue(e.getMessage().contains("''"), e.getMessage());
    }

    @Test
    void garbageBytesAreRejectedWithIllegalArgumentException() {
        assertThrows(IllegalArgumentException.class, () -> AppliedVector.decode(new byte[] {(byte) 0xff, (byte) 0xfe, 0}));
    }

    @Test
    void decodingNormalisesPartitionsKeepsTheHighestOfRepeatedEntriesAndRefusesNegativeNumbers() {
        AppliedVector vector = AppliedVector.decode("a:01=5,a:1=3".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        org.junit.jupiter.api.Assertions.assertEquals(5, vector.applied("a", 1));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> AppliedVector.decode("a:0=-2".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    @Test
    void coversWhatItHasAppliedAtLeastEntryByEntry() {
        AppliedVector applied = AppliedVector.of(Map.of("a:0", 812L, "c:0", 77L));
        assertTrue(applied.covers(AppliedVector.EMPTY));
        assertTrue(applied.covers(applied));
        assertTrue(applied.covers(AppliedVector.of(Map.of("a:0", 812L))));
        assertTrue(applied.covers(AppliedVector.of(Map.of("a:0", 5L, "c:0", 77L))));
        assertFalse(applied.covers(AppliedVector.of(Map.of("a:0", 813L))), "one offset short");
        assertFalse(applied.covers(AppliedVector.of(Map.of("c:0", 77L, "c:1", 0L))), "a partition nothing was applied of");
        assertFalse(AppliedVector.EMPTY.covers(AppliedVector.of(Map.of("a:0", 0L))));
    }
}
