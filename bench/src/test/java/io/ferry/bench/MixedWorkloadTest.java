package io.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.ferry.resp.RespBuffer;
import io.ferry.resp.RespMessage;
import io.ferry.resp.RespReader;
import org.junit.jupiter.api.Test;

class MixedWorkloadTest {

    @Test
    void mixedWorkloadWritesWellFormedCommands() {
        RespBuffer buffer = new RespBuffer();
        MixedWorkload mixed = new MixedWorkload(10, 4);
        int replies = 0;
        for (long seq = 0; seq < 1000; seq++) {
            replies += mixed.encode(seq, buffer).replies;
        }
        RespReader reader = new RespReader();
        reader.feed(buffer.array(), 0, buffer.size());
        int commands = 0;
        for (RespMessage message = reader.next(); message != null; message = reader.next()) {
            assertInstanceOf(RespMessage.Command.class, message);
            commands++;
        }
        assertEquals(0, reader.buffered(), "nothing left over: every command complete");
        assertEquals(replies, commands, "one reply per command, MULTI and EXEC included");
    }
}
