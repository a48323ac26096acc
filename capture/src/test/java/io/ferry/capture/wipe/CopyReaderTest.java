package io.ferry.capture.wipe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class CopyReaderTest {

    /** DUMP payloads as Redis 7.0 writes them (redis-cli --no-raw DUMP k), version and checksum included. */
    private static byte[] dump(int... bytes) {
        byte[] out = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = (byte) bytes[i];
        }
        return out;
    }

    @Test
    void readsTheIntegerOfIntEncodedAndPlainStringPayloads() {
        assertEquals(5, CopyReader.integerValue(dump(0x00, 0xc0, 0x05, 0x0a, 0x00, 0x63, 0x2f)));
        assertEquals(300, CopyReader.integerValue(dump(0x00, 0xc1, 0x2c, 0x01, 0x0a, 0x00)));
        assertEquals(70_000, CopyReader.integerValue(dump(0x00, 0xc2, 0x70, 0x11, 0x01, 0x00, 0x0a, 0x00)));
        assertEquals(-1, CopyReader.integerValue(dump(0x00, 0xc0, 0xff, 0x0a, 0x00)));
        byte[] big = ("\u0000\n3000000000\n\u0000").getBytes(StandardCharsets.ISO_8859_1);
        assertEquals(3_000_000_000L, CopyReader.integerValue(big));
    }

    @Test
    void anythingElseIsUnreadable() {
        assertEquals(-1, CopyReader.integerValue(("\u0000\u0003abc\n\u0000").getBytes(StandardCharsets.ISO_8859_1)));
        assertEquals(-1, CopyReader.integerValue(dump(0x0e, 0x01)), "not a string");
        assertEquals(-1, CopyReader.integerValue(dump(0x00, 0xc3, 0x01)), "LZF");
        assertEquals(-1, CopyReader.integerValue(dump(0x00, 0xc2, 0x01)), "truncated");
        assertEquals(-1, CopyReader.integerValue((byte[]) null));
    }
}
