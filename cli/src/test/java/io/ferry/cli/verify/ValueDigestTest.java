package io.ferry.cli.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ValueDigestTest {

    @Test
    void setMembersInAnotherOrderHaveTheSameDigest() {
        assertArrayEquals(unordered("a", "b", "c"), unordered("c", "a", "b"));
    }

    @Test
    void aMemberScanReturnedTwiceCountsOnce() {
        ValueDigest twice = ValueDigest.unordered();
        for (String member : List.of("a", "b", "a")) {
            twice.add(bytes(member));
        }
        assertEquals(2, twice.count());
        assertArrayEquals(unordered("a", "b"), twice.finish());
    }

    @Test
    void listElementsInAnotherOrderDiffer() {
        assertFalse(Arrays.equals(ordered("a", "b"), ordered("b", "a")));
        assertArrayEquals(ordered("a", "b"), ordered("a", "b"));
    }

    @Test
    void elementBoundariesCount() {
        assertFalse(Arrays.equals(ordered("ab", "c"), ordered("a", "bc")));
        ValueDigest oneElement = ValueDigest.ordered();
        oneElement.add(bytes("a"), bytes("b"));
        assertFalse(Arrays.equals(ordered("a", "b"), oneElement.finish()), "two elements are not one element of two parts");
    }

    @Test
    void hashFieldsInAnyOrderMatchButSwappedValuesDiffer() {
        assertArrayEquals(hash("f1", "v1", "f2", "v2"), hash("f2", "v2", "f1", "v1"));
        assertFalse(Arrays.equals(hash("f1", "v1", "f2", "v2"), hash("f1", "v2", "f2", "v1")));
    }

    @Test
    void sortedSetsCompareMembersWithTheirScores() {
        assertArrayEquals(zset("a", 1.0, "b", 2.5), zset("b", 2.5, "a", 1.0));
        assertFalse(Arrays.equals(zset("a", 1.0, "b", 2.5), zset("a", 2.5, "b", 1.0)));
        assertArrayEquals(zset("a", 0.0), zset("a", -0.0), "Redis does not tell -0 from 0");
        assertArrayEquals(zset("a", 0.1), zset("a", Double.parseDouble("0.10000000000000001")), "one double, two spellings");
    }

    @Test
    void bytesAreNeverDecodedAsText() {
        ValueDigest invalidUtf8 = ValueDigest.ordered();
        invalidUtf8.add(new byte[] {(byte) 0xff, (byte) 0xfe});
        ValueDigest replacement = ValueDigest.ordered();
        replacement.add(new byte[] {(byte) 0xfe, (byte) 0xff});
        assertFalse(Arrays.equals(invalidUtf8.finish(), replacement.finish()));
    }

    private static byte[] ordered(String... elements) {
        ValueDigest digest = ValueDigest.ordered();
        for (String element : elements) {
            digest.add(bytes(element));
        }
        return digest.finish();
    }

    private static byte[] unordered(String... members) {
        ValueDigest digest = ValueDigest.unordered();
        for (String member : members) {
            digest.add(bytes(member));
        }
        return digest.finish();
    }

    private static byte[] hash(String... fieldsAndValues) {
        ValueDigest digest = ValueDigest.unordered();
        for (int i = 0; i < fieldsAndValues.length; i += 2) {
            digest.add(bytes(fieldsAndValues[i]), bytes(fieldsAndValues[i + 1]));
        }
        return digest.finish();
    }

    private static byte[] zset(Object... membersAndScores) {
        ValueDigest digest = ValueDigest.unordered();
        for (int i = 0; i < membersAndScores.length; i += 2) {
            digest.add(bytes((String) membersAndScores[i]), ValueDigest.score((Double) membersAndScores[i + 1]));
        }
        return digest.finish();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
