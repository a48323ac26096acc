package io.ferry.resp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class RespBufferTest {

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void encodesKeysMadeOfAPrefixAndASequenceNumber() {
        RespBuffer buffer = new RespBuffer();
        buffer.command(3).bulk("SET").bulk(ascii("k:"), 1234567).bulk(0);
        assertEquals("*3\r\n$3\r\nSET\r\n$9\r\nk:1234567\r\n$1\r\n0\r\n", new String(buffer.toByteArray(), StandardCharsets.US_ASCII));
    }

    @Test
    void everyWayOfWritingACommandEncodesTheSameBytes() {
        byte[] key = ascii("k\r\n\0\u00ff");
        byte[] expected = ascii("*3\r\n$3\r\nSET\r\n$5\r\nk\r\n\0\u00ff\r\n$0\r\n\r\n");
        assertArrayEquals(expected, new RespBuffer().command("SET", List.of(key, new byte[0])).toByteArray());
        assertArrayEquals(expected, new RespBuffer().command(ascii("SET"), key, new byte[0]).toByteArray());
        assertArrayEquals(expected, new RespBuffer().command(3).bulk("SET").bulk(key).bulk(ascii("xx"), 2, 0).toByteArray());
        assertArrayEquals(ascii("*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n"), new RespBuffer().command("PING", "hi").toByteArray());
    }

    @Test
    void aPipelinedRoundDecodesBackToTheSameCommandsWithTheirExactSizes() {
        RespBuffer round = new RespBuffer();
        round.command("MULTI", List.of());
        round.command("RPUSH", List.of(ascii("list"), ascii("a"), ascii("b")));
        round.command("EXEC", List.of());
        byte[] wire = round.toByteArray();
        RespReader reader = new RespReader(16);
        int total = 0;
        int commands = 0;
        for (int i = 0; i < wire.length; i++) {
            reader.feed(wire, i, 1); // one byte at a time: the worst fragmentation
            for (RespMessage m = reader.next(); m != null; m = reader.next()) {
                total += m.wireBytes();
                commands++;
            }
        }
        assertEquals(3, commands);
        assertEquals(wire.length, total);
    }

    @Test
    void aBigBulkStringArrivingInFragmentsDecodesWhole() {
        byte[] value = new byte[8 * 1024 * 1024 + 3];
        for (int i = 0; i < value.length; i++) {
            value[i] = (byte) (i * 31);
        }
        RespBuffer buffer = new RespBuffer();
        buffer.command("SET", List.of(ascii("big"), value));
        byte[] wire = buffer.toByteArray();
        RespReader reader = new RespReader(1024);
        RespMessage message = null;
        for (int at = 0; at < wire.length && message == null; at += 65_000) {
            reader.feed(wire, at, Math.min(65_000, wire.length - at));
            message = reader.next();
        }
        RespMessage.Command command = assertInstanceOf(RespMessage.Command.class, message);
        assertArrayEquals(value, command.argv()[2]);
        assertEquals(wire.length, command.wireBytes());
        buffer.clear();
        assertEquals(0, buffer.size());
        assertEquals(64 * 1024, buffer.array().length, "a huge round does not keep its memory");
    }

    @Test
    void decodesEveryReplyTypeWithItsWireSize() {
        String wire = "+OK\r\n" + "-ERR wrong\r\n" + ":-12\r\n" + "$3\r\nab\n\r\n" + "$-1\r\n" + "*-1\r\n" + "*0\r\n"
                + "*3\r\n+QUEUED\r\n-WRONGTYPE no\r\n$-1\r\n" + "*2\r\n$1\r\na\r\n$0\r\n\r\n";
        RespReader reader = new RespReader();
        reader.feed(ascii(wire), 0, wire.length());
        assertEquals(new RespMessage.Simple("OK", 5), reader.next());
        assertEquals(new RespMessage.Error("ERR wrong", 12), reader.next());
        assertEquals(new RespMessage.Integer(-12, 6), reader.next());
        RespMessage.BulkString bulk = (RespMessage.BulkString) reader.next();
        assertArrayEquals(ascii("ab\n"), bulk.bytes());
        assertEquals(9, bulk.wireBytes());
        RespMessage.BulkString nullBulk = (RespMessage.BulkString) reader.next();
        assertNull(nullBulk.bytes());
        assertEquals(5, nullBulk.wireBytes());
        RespMessage.BulkString nullArray = (RespMessage.BulkString) reader.next();
        assertNull(nullArray.bytes(), "a null array reads as null like a null bulk");
        RespMessage.Array empty = (RespMessage.Array) reader.next();
        assertEquals(List.of(), empty.items());
        assertEquals(4, empty.wireBytes());
        RespMessage.Array exec = (RespMessage.Array) reader.next();
        assertEquals("QUEUED", exec.items().get(0));
        assertEquals("WRONGTYPE no", ((RespMessage.Error) exec.items().get(1)).text());
        assertNull(exec.items().get(2));
        RespMessage.Command bulks = (RespMessage.Command) reader.next();
        assertEquals(2, bulks.argv().length);
        assertEquals(0, bulks.argv()[1].length);
        assertNull(reader.next());
        assertEquals(0, reader.buffered());
    }
}
