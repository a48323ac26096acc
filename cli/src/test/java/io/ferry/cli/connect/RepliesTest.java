package io.ferry.cli.connect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.resp.RedisReplyException;
import io.ferry.resp.RespReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class RepliesTest {

    @Test
    void readsAScanPageOfKeys() throws IOException {
        Replies.ScanReply page = Replies.scan(decode("*2\r\n$2\r\n42\r\n*2\r\n$1\r\na\r\n$2\r\n\u00ff\0\r\n"));
        assertEquals("42", page.cursor());
        assertEquals(2, page.elements().size());
        assertArrayEquals(new byte[] {'a'}, page.elements().get(0));
        assertTrue(!page.finished());
    }

    @Test
    void readsTheLastEmptyScanPage() throws IOException {
        Replies.ScanReply page = Replies.scan(decode("*2\r\n$1\r\n0\r\n*0\r\n"));
        assertTrue(page.finished());
        assertEquals(List.of(), page.elements());
    }

    @Test
    void readsAListOfBulkStringsAndAnEmptyOne() throws IOException {
        assertEquals(2, Replies.items(decode("*2\r\n$1\r\nx\r\n$1\r\ny\r\n")).size());
        assertEquals(List.of(), Replies.items(decode("*0\r\n")));
    }

    @Test
    void throwsAnErrorReplySoThatNopermIsTold() throws IOException {
        RedisReplyException e = assertThrows(RedisReplyException.class,
                () -> Replies.integer(decode("-NOPERM this user has no permissions to access the 'k' key\r\n")));
        assertTrue(e.accessDenied());
    }

    @Test
    void parsesScoresAsRedisWritesThemInfinitiesIncluded() {
        assertEquals(1.5, Replies.score(ascii("1.5")));
        assertEquals(Double.POSITIVE_INFINITY, Replies.score(ascii("inf")));
        assertEquals(Double.NEGATIVE_INFINITY, Replies.score(ascii("-inf")));
        assertEquals(0.1, Replies.score(ascii("0.10000000000000001")), "the same double as 0.1");
    }

    @Test
    void sendsStringsAsUtf8NumbersInDecimalAndBytesAsTheyAre() {
        byte[] key = {(byte) 0xff, 0};
        byte[][] argv = Replies.argv("GETRANGE", key, 0, 1048575L);
        assertArrayEquals(ascii("GETRANGE"), argv[0]);
        assertArrayEquals(key, argv[1]);
        assertArrayEquals(ascii("1048575"), argv[3]);
    }

    private static io.ferry.resp.RespMessage decode(String wire) throws IOException {
        RespReader reader = new RespReader();
        reader.fill(new ByteArrayInputStream(wire.getBytes(StandardCharsets.ISO_8859_1)));
        return reader.next();
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}
