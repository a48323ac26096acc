package io.ferry.capture.publish;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.capture.CaptureMetrics;
import io.ferry.resp.SpilledBulk;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.StagedCommand;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutboxSinkStagingTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }

    @Test
    void aBigValueGoesOutAsChunksAtThePositionBeforeItsCommandAndOnlyItsEvalMovesThePosition(@TempDir Path dir) throws Exception {
        int maxRecordBytes = 16 * 1024;
        byte[] value = new byte[100_000];
        for (int i = 0; i < value.length; i++) {
            value[i] = (byte) (i % 251);
        }
        Path file = dir.resolve("value");
        Files.write(file, value);
        Outbox outbox = new Outbox(1024, 64L * 1024 * 1024);
        OutboxSink sink = new OutboxSink("eu-1", 0, maxRecordBytes, outbox, () -> false, new CaptureMetrics(new SimpleMeterRegistry(), "eu-1"));
        sink.replid("8de1787ba490483314a4d30f1c628bc5025eb761");
        byte[] placeholder = new byte[0];
        Map<byte[], SpilledBulk> spilled = new IdentityHashMap<>();
        spilled.put(placeholder, new SpilledBulk(file, value.length));

        sink.spilledValues(spilled, 990, 3);
        sink.publish(EventKind.COMMAND, 3, List.<byte[][]>of(new byte[][] {b("SET"), b("big"), placeholder}), List.of(b("big")), 1234, 3);

        List<Outbox.Event> events = new ArrayList<>();
        Outbox.Entry entry;
        while ((entry = outbox.poll(0)) != null) {
            events.add((Outbox.Event) entry);
        }
        ByteArrayOutputStream staged = new ByteArrayOutputStream();
        for (int i = 0; i < events.size() - 1; i++) {
            Outbox.Event chunk = events.get(i);
            ChangeEvent event = chunk.event();
            assertFalse(chunk.resumable(), "no commit may take a chunk's position as a place to resume from");
            assertEquals(990, event.getPosition().getOffset(), "a chunk carries the position before the command");
            assertEquals(3, event.getDb());
            Command command = event.getCommands().get(0);
            assertEquals(i == 0 ? "SET" : "APPEND", command.getName());
            assertEquals("__ferry:stage:eu-1:0:0:{big}", new String(bytes(command.getArgs().get(0)), StandardCharsets.UTF_8));
            assertTrue(chunk.approxBytes() <= maxRecordBytes, "chunk of " + chunk.approxBytes() + " bytes");
            staged.writeBytes(bytes(command.getArgs().get(1)));
        }
        assertArrayEquals(value, staged.toByteArray(), "the chunks concatenate to the value, in order");
        Outbox.Event last = events.get(events.size() - 1);
        assertTrue(last.resumable());
        assertEquals(1234, last.event().getPosition().getOffset());
        Command eval = last.event().getCommands().get(0);
        assertEquals("EVAL", eval.getName());
        List<byte[]> args = eval.getArgs().stream().map(OutboxSinkStagingTest::bytes).toList();
        byte[][] inner = StagedCommand.inner(args);
        assertEquals("SET big ", new String(inner[0]) + " " + new String(inner[1]) + " " + new String(inner[2]));
        StagedCommand.Stage stage = StagedCommand.stages(args).get(0);
        assertEquals(2, stage.position(), "the value's place in SET big <value>");
        assertEquals(value.length, stage.length());
    }
}
