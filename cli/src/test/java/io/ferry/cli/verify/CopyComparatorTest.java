package io.ferry.cli.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CopyComparatorTest {

    private static final long NOW = 1_800_000_000_000L;
    private final CopyComparator comparator = new CopyComparator(1000);

    @Test
    void identicalCopiesAreTheSame() {
        assertEquals(Optional.empty(), comparator.difference(copies(string("v", -1), string("v", -1), string("v", -1))));
    }

    @Test
    void aKeyMissingEverywhereIsTheSame() {
        assertEquals(Optional.empty(), comparator.difference(copies(KeyCopy.missing(NOW), KeyCopy.missing(NOW))));
    }

    @Test
    void aKeyMissingOnOneInstanceNamesIt() {
        assertEquals(Optional.of("missing on b"), comparator.difference(copies(string("v", -1), KeyCopy.missing(NOW), string("v", -1))));
    }

    @Test
    void stringsCompareByteExact() {
        assertEquals(Optional.of("content differs"), comparator.difference(copies(string("v", -1), string("V", -1))));
        KeyCopy high = new KeyCopy("string", 1, ValueDigest.sha256(new byte[] {(byte) 0xff}), null, -1, 0, NOW, null);
        KeyCopy replacement = new KeyCopy("string", 1, ValueDigest.sha256(new byte[] {(byte) 0xfe}), null, -1, 0, NOW, null);
        assertEquals(Optional.of("content differs"), comparator.difference(copies(high, replacement)));
    }

    @Test
    void anotherTypeIsATypeDifferenceNotAContentOne() {
        KeyCopy hash = new KeyCopy("hash", 1, new byte[32], null, -1, 0, NOW, null);
        assertEquals(Optional.of("type differs"), comparator.difference(copies(string("v", -1), hash)));
    }

    @Test
    void expiriesWithinTheToleranceAreTheSame() {
        assertEquals(Optional.empty(), comparator.difference(copies(string("v", NOW + 60_000), string("v", NOW + 60_999))));
        assertEquals(Optional.of("ttl differs"), comparator.difference(copies(string("v", NOW + 60_000), string("v", NOW + 61_001))));
        assertEquals(Optional.empty(), new CopyComparator(0).difference(copies(string("v", NOW + 5), string("v", NOW + 5))));
    }

    @Test
    void anExpiryOnOneSideOnlyDiffers() {
        assertEquals(Optional.of("ttl differs"), comparator.difference(copies(string("v", -1), string("v", NOW + 60_000))));
    }

    @Test
    void contentAndTtlDifferencesAreBothNamed() {
        assertEquals(Optional.of("content differs; ttl differs"),
                comparator.difference(copies(string("v", -1), string("w", NOW + 60_000))));
    }

    @Test
    void anUnreadableCopyIsNeverTheSame() {
        Optional<String> difference = comparator.difference(copies(string("v", -1), KeyCopy.unreadable("WRONGTYPE", NOW)));
        assertTrue(difference.orElseThrow().contains("unreadable on b"), difference.toString());
    }

    @Test
    void orderInsensitiveTypesCompareByTheirDigests() {
        ValueDigest ab = ValueDigest.unordered();
        ab.add(bytes("a"));
        ab.add(bytes("b"));
        ValueDigest ba = ValueDigest.unordered();
        ba.add(bytes("b"));
        ba.add(bytes("a"));
        assertEquals(Optional.empty(), comparator.difference(copies(
                new KeyCopy("set", 2, ab.finish(), null, -1, 0, NOW, null),
                new KeyCopy("set", 2, ba.finish(), null, -1, 0, NOW, null))));
    }

    private static KeyCopy string(String value, long expireAt) {
        byte[] bytes = bytes(value);
        return new KeyCopy("string", bytes.length, ValueDigest.sha256(bytes), bytes, expireAt, 0, NOW, null);
    }

    private static Map<String, KeyCopy> copies(KeyCopy... copies) {
        Map<String, KeyCopy> byInstance = new LinkedHashMap<>();
        for (int i = 0; i < copies.length; i++) {
            byInstance.put(String.valueOf((char) ('a' + i)), copies[i]);
        }
        return byInstance;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
