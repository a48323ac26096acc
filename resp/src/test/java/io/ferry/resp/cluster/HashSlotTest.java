package io.ferry.resp.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HashSlotTest {

    private static int slot(String key) {
        return HashSlot.of(key.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void computesCrc16XmodemAsRedisClusterSpecifies() {
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0x31C3, HashSlot.crc16(check, 0, check.length), "the CRC16/XMODEM check value");
        assertEquals(12182, slot("foo"), "CLUSTER KEYSLOT foo");
        assertEquals(5061, slot("bar"), "CLUSTER KEYSLOT bar");
        assertEquals(0, slot(""));
    }

    @Test
    void keysWithTheSameHashTagShareASlot() {
        assertEquals(slot("user1000"), slot("{user1000}.following"));
        assertEquals(slot("{user1000}.following"), slot("{user1000}.followers"));
        assertEquals(slot("bar"), slot("foo{bar}{zap}"), "only the first tag counts");
        assertEquals(slot("{bar"), slot("foo{{bar}}zap"), "the tag runs from the first '{' to the next '}'");
    }

    @Test
    void anEmptyOrUnclosedTagHashesTheWholeKey() {
        assertEquals(HashSlot.crc16(b("foo{}{bar}"), 0, 10) & 16383, slot("foo{}{bar}"));
        assertNotEquals(slot("bar"), slot("foo{}{bar}"));
        assertEquals(HashSlot.crc16(b("foo{bar"), 0, 7) & 16383, slot("foo{bar"));
    }

    @Test
    void binaryKeysHashByTheirBytes() {
        byte[] key = {(byte) 0xff, 0, '{', (byte) 0x80, '}', '\r'};
        assertEquals(HashSlot.of(new byte[] {(byte) 0x80}), HashSlot.of(key));
        for (int i = 0; i < 1000; i++) {
            int s = slot("k:" + i);
            assertTrue(s >= 0 && s < HashSlot.COUNT);
        }
    }

    @Test
    void everySlotHasAShortTagThatHashesToIt() {
        for (int slot = 0; slot < HashSlot.COUNT; slot++) {
            String tag = HashSlot.tag(slot);
            assertEquals(slot, HashSlot.of(("__ferry:ckpt:{" + tag + "}:a:0").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            org.junit.jupiter.api.Assertions.assertTrue(tag.length() <= 4 && tag.chars().allMatch(Character::isLetterOrDigit), tag);
        }
    }

    @Test
    void readsMovedAndAskRedirects() {
        assertEquals(new Redirect(false, 3999, new NodeAddress("127.0.0.1", 6381)), Redirect.parse("MOVED 3999 127.0.0.1:6381"));
        assertEquals(new Redirect(true, 12182, new NodeAddress("::1", 7000)), Redirect.parse("ASK 12182 ::1:7000"));
        assertEquals(new NodeAddress("", 7001), Redirect.parse("MOVED 1 :7001").target(), "an unknown host means the node that answered");
        assertNull(Redirect.parse("WRONGTYPE Operation against a key holding the wrong kind of value"));
        assertNull(Redirect.parse("MOVED nonsense"));
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
