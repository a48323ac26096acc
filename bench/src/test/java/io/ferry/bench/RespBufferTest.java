package io.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RespBufferTest {

    @Test
    void encodesKeysMadeOfAPrefixAndASequenceNumber() {
        RespBuffer buffer = new RespBuffer();
        buffer.command(3).bulk("SET").bulk("k:".getBytes(StandardCharsets.US_ASCII), 1234567).bulk(0);
        assertEquals("*3\r\n$3\r\nSET\r\n$9\r\nk:1234567\r\n$1\r\n0\r\n",
                new String(buffer.toByteArray(), StandardCharsets.US_ASCII));
    }

    @Test
    void mixedWorkloadWritesWellFormedCommands() throws Exception {
        RespBuffer buffer = new RespBuffer();
        MixedWorkload mixed = new MixedWorkload(10, 4);
        int replies = 0;
        for (long seq = 0; seq < 1000; seq++) {
            replies += mixed.encode(seq, buffer).replies;
        }
        RespReader reader = new RespReader(new java.io.ByteArrayInputStream(buffer.toByteArray()));
        int commands = 0;
        try {
            while (true) {
                reader.readArray();
                commands++;
            }
        } catch (java.io.EOFException end) {
            // all read
        }
        assertEquals(replies, commands, "one reply per command, MULTI and EXEC included");
    }
}
