package io.ferry.cli.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ByteTextTest {

    @Test
    void printsPrintableAsciiInQuotes() {
        assertEquals("\"user:42 name\"", ByteText.quote("user:42 name".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void escapesControlAndHighBytesAsHex() {
        assertEquals("\"a\\x00b\\xff\\x7f\\x1b\"", ByteText.quote(new byte[] {'a', 0, 'b', (byte) 0xff, 0x7f, 0x1b}));
    }

    @Test
    void escapesQuotesBackslashesAndWhitespaceLikeRedisCli() {
        assertEquals("\"say \\\"hi\\\"\\\\\\n\\r\\t\"", ByteText.quote("say \"hi\"\\\n\r\t".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void neverDecodesUtf8AsText() {
        assertEquals("\"caf\\xc3\\xa9\"", ByteText.quote("café".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void cutsLongValuesAndCountsTheRest() {
        assertEquals("\"abc\"…(+7 bytes)", ByteText.quote("abcdefghij".getBytes(StandardCharsets.US_ASCII), 3));
    }

    @Test
    void readsByteBuffersWithoutMovingThem() {
        ByteBuffer buffer = ByteBuffer.wrap(new byte[] {'x', 1});
        assertEquals("\"x\\x01\"", ByteText.quote(buffer, 100));
        assertEquals(0, buffer.position());
    }

    @Test
    void showsNullAsNil() {
        assertEquals("(nil)", ByteText.quote((byte[]) null));
        assertEquals("\"\"", ByteText.quote(new byte[0]));
    }
}
