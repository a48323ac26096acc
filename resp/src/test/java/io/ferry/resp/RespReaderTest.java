package io.ferry.resp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RespReaderTest {

    private static final String STREAM = "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"
            + "*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$5\r\nv\0\u00ff\r\n\r\n" // key and value contain CR LF, NUL and 0xff
            + "*1\r\n$4\r\nPING\r\n"
            + "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n";

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void decodesCommandsAsRawArgvWithTheirExactWireSize() {
        RespReader reader = new RespReader(8);
        reader.feed(bytes(STREAM), 0, STREAM.length());
        List<RespMessage.Command> commands = drain(reader);
        assertEquals(4, commands.size());
        assertArrayEquals(new byte[][] {bytes("SELECT"), bytes("3")}, commands.get(0).argv());
        assertEquals(23, commands.get(0).wireBytes());
        assertArrayEquals(new byte[][] {bytes("SET"), bytes("k\r\n"), bytes("v\0\u00ff\r\n")}, commands.get(1).argv());
        assertEquals(bytes("*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$5\r\nv\0\u00ff\r\n\r\n").length, commands.get(1).wireBytes());
        assertEquals(14, commands.get(2).wireBytes());
        assertArrayEquals(new byte[][] {bytes("SET"), new byte[0], new byte[0]}, commands.get(3).argv());
        assertEquals(STREAM.length(), commands.stream().mapToInt(RespMessage.Command::wireBytes).sum());
    }

    @Test
    void givesTheSameCommandsWhateverWayTheBytesAreSplit() {
        byte[] all = bytes(STREAM);
        RespReader whole = new RespReader();
        whole.feed(all, 0, all.length);
        List<RespMessage.Command> expected = drain(whole);
        for (int split = 0; split <= all.length; split++) {
            for (int second = split; second <= all.length; second++) {
                RespReader reader = new RespReader(4);
                List<RespMessage.Command> seen = new ArrayList<>();
                reader.feed(all, 0, split);
                seen.addAll(drain(reader));
                reader.feed(all, split, second - split);
                seen.addAll(drain(reader));
                reader.feed(all, second, all.length - second);
                seen.addAll(drain(reader));
                assertEquals(expected.size(), seen.size(), "split at " + split + "/" + second);
                for (int i = 0; i < expected.size(); i++) {
                    assertArrayEquals(expected.get(i).argv(), seen.get(i).argv(), "split at " + split + "/" + second);
                    assertEquals(expected.get(i).wireBytes(), seen.get(i).wireBytes());
                }
                assertEquals(0, reader.buffered());
            }
        }
    }

    @Test
    void returnsNothingUntilAMessageIsComplete() {
        RespReader reader = new RespReader();
        byte[] head = bytes("*2\r\n$3\r\nGET\r\n$5\r\nab");
        reader.feed(head, 0, head.length);
        assertNull(reader.next());
        assertNull(reader.next());
        reader.feed(bytes("cde\r\n"), 0, 5);
        assertInstanceOf(RespMessage.Command.class, reader.next());
    }

    @Test
    void decodesAHugeCommandArrivingInSmallReadsWithoutStartingOverEachTime() {
        int elements = 200_000;
        java.io.ByteArrayOutputStream wire = new java.io.ByteArrayOutputStream();
        wire.writeBytes(bytes("*" + (elements + 2) + "\r\n$5\r\nRPUSH\r\n$4\r\nlist\r\n"));
        for (int i = 0; i < elements; i++) {
            String element = Integer.toString(i);
            wire.writeBytes(bytes("$" + element.length() + "\r\n" + element + "\r\n"));
        }
        byte[] all = wire.toByteArray();
        RespMessage.Command command = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20), () -> {
            RespReader reader = new RespReader(1024);
            RespMessage message = null;
            for (int off = 0; off < all.length; off += 1024) {
                assertNull(message, "complete before its last byte");
                reader.feed(all, off, Math.min(1024, all.length - off));
                message = reader.next();
            }
            return (RespMessage.Command) message;
        });
        assertEquals(elements + 2, command.argv().length);
        assertArrayEquals(bytes("199999"), command.argv()[elements + 1]);
        assertEquals(all.length, command.wireBytes());
    }

    @Test
    void decodesHandshakeReplies() {
        String replies = "+FULLRESYNC 8de1787ba490483314a4d30f1c628bc5025eb761 0\r\n-NOAUTH Authentication required.\r\n:42\r\n"
                + "$-1\r\n*2\r\n*6\r\n$3\r\nget\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n:7\r\n\n";
        RespReader reader = new RespReader();
        reader.feed(bytes(replies), 0, replies.length());
        assertEquals("FULLRESYNC 8de1787ba490483314a4d30f1c628bc5025eb761 0", ((RespMessage.Simple) reader.next()).text());
        assertEquals("NOAUTH Authentication required.", ((RespMessage.Error) reader.next()).text());
        assertEquals(42, ((RespMessage.Integer) reader.next()).value());
        assertNull(((RespMessage.BulkString) reader.next()).bytes());
        RespMessage.Array table = (RespMessage.Array) reader.next();
        List<?> entry = (List<?>) table.items().get(0);
        assertArrayEquals(bytes("get"), (byte[]) entry.get(0));
        assertEquals(2L, entry.get(1));
        assertEquals(List.of("readonly"), entry.get(2));
        assertEquals(7L, table.items().get(1));
        assertInstanceOf(RespMessage.Newline.class, reader.next());
        assertNull(reader.next());
    }

    @Test
    void spoolsAnEofMarkedPayloadAndKeepsWhatFollows() throws Exception {
        String mark = "0123456789012345678901234567890123456789";
        String payload = "REDIS0010\u00fa\0binary" + mark.substring(0, 39) + "x";
        String wire = payload + mark + "*1\r\n$4\r\nPING\r\n";
        byte[] all = bytes(wire);
        for (int split = 0; split <= all.length; split++) {
            RespReader reader = new RespReader(4);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            reader.feed(all, 0, split);
            boolean done = reader.drainUntilMark(out, bytes(mark));
            if (!done) {
                reader.feed(all, split, all.length - split);
                done = reader.drainUntilMark(out, bytes(mark));
            } else {
                reader.feed(all, split, all.length - split);
            }
            assertEquals(true, done, "split " + split);
            assertArrayEquals(bytes(payload), out.toByteArray(), "split " + split);
            assertArrayEquals(new byte[][] {bytes("PING")}, ((RespMessage.Command) reader.next()).argv());
        }
    }

    @Test
    void rejectsBytesThatAreNotResp() {
        RespReader reader = new RespReader();
        reader.feed(bytes("?what\r\n"), 0, 7);
        assertThrows(RespProtocolException.class, reader::next);
        RespReader badBulk = new RespReader();
        badBulk.feed(bytes("*1\r\n$2\r\nabcd\r\n"), 0, 14);
        assertThrows(RespProtocolException.class, badBulk::next);
    }

    @Test
    void spillsBigArgumentsToFilesWhateverWayTheBytesAreSplitAndCountsEveryByte(@TempDir Path dir) throws Exception {
        String big = "0123456789\r\nabcdef"; // 18 bytes, CR LF inside
        String stream = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$18\r\n" + big + "\r\n"
                + "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
                + "*4\r\n$4\r\nMSET\r\n$18\r\n" + big + "\r\n$4\r\nsmal\r\n$18\r\n" + big + "\r\n";
        byte[] all = bytes(stream);
        for (int split = 0; split <= all.length; split++) {
            RespReader reader = new RespReader(4);
            reader.spillBulkAbove(10, dir);
            List<RespMessage.Command> seen = new ArrayList<>();
            reader.feed(all, 0, split);
            seen.addAll(drain(reader));
            reader.feed(all, split, all.length - split);
            seen.addAll(drain(reader));
            assertEquals(3, seen.size(), "split at " + split);
            assertEquals(all.length, seen.stream().mapToInt(RespMessage.Command::wireBytes).sum(), "split at " + split);
            RespMessage.Command set = seen.get(0);
            assertEquals(1, set.spilled().size());
            assertArrayEquals(new byte[0], set.argv()[2]);
            SpilledBulk value = set.spilled().get(set.argv()[2]);
            assertEquals(18, value.length());
            assertArrayEquals(bytes(big), Files.readAllBytes(value.file()), "split at " + split);
            assertEquals(0, seen.get(1).spilled().size());
            RespMessage.Command mset = seen.get(2);
            assertEquals(2, mset.spilled().size(), "two placeholders, told apart by identity");
            assertArrayEquals(bytes("smal"), mset.argv()[2]);
            assertArrayEquals(bytes(big), Files.readAllBytes(mset.spilled().get(mset.argv()[3]).file()));
            assertEquals(0, reader.buffered());
            for (RespMessage.Command c : seen) {
                for (SpilledBulk file : c.spilled().values()) {
                    Files.delete(file.file());
                }
            }
        }
    }

    @Test
    void aSpilledValueNeverSitsInTheReadersBuffer(@TempDir Path dir) throws Exception {
        int size = 8 * 1024 * 1024;
        RespReader reader = new RespReader(1024);
        reader.spillBulkAbove(64 * 1024, dir);
        byte[] head = bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + size + "\r\n");
        reader.feed(head, 0, head.length);
        byte[] piece = new byte[16 * 1024];
        for (int sent = 0; sent < size; sent += piece.length) {
            java.util.Arrays.fill(piece, (byte) (sent / piece.length));
            reader.feed(piece, 0, piece.length);
            assertNull(reader.next());
            assertTrue(reader.buffered() < 64 * 1024, "buffered " + reader.buffered());
        }
        reader.feed(bytes("\r\n"), 0, 2);
        RespMessage.Command set = (RespMessage.Command) reader.next();
        assertEquals(head.length + size + 2, set.wireBytes());
        SpilledBulk value = set.spilled().get(set.argv()[2]);
        assertEquals(size, Files.size(value.file()));
    }

    private static List<RespMessage.Command> drain(RespReader reader) {
        List<RespMessage.Command> out = new ArrayList<>();
        RespMessage m;
        while ((m = reader.next()) != null) {
            out.add((RespMessage.Command) m);
        }
        return out;
    }
}
