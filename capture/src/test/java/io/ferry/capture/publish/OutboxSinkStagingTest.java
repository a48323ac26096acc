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

    @Test
    void aBigBlockGoesOutAsListChunksWithinTheRecordLimitThenOneEvalAndARefusedOneAsAnErrorScript(@TempDir Path dir) throws Exception {
        int maxRecordBytes = 16 * 1024;
        Path valueFile = dir.resolve("value");
        byte[] value = new byte[40_000];
        Files.write(valueFile, value);
        byte[] placeholder = new byte[0];
        Map<byte[], SpilledBulk> spilled = new IdentityHashMap<>();
        spilled.put(placeholder, new SpilledBulk(valueFile, value.length));
        Outbox outbox = new Outbox(100_000, 256L * 1024 * 1024);
        OutboxSink sink = new OutboxSink("eu-1", 0, maxRecordBytes, outbox, () -> false, new CaptureMetrics(new SimpleMeterRegistry(), "eu-1"));
        sink.replid("8de1787ba490483314a4d30f1c628bc5025eb761");
        List<byte[][]> written = new ArrayList<>();
        try (io.ferry.capture.stream.BlockSpool spool = io.ferry.capture.stream.BlockSpool.create(dir.resolve("spool"))) {
            for (int i = 0; i < 5000; i++) {
                byte[][] argv = {b("RPUSH"), b("l"), b("item-" + i)};
                spool.write(argv, spilled);
                written.add(argv);
            }
            spool.write(new byte[][] {b("SET"), b("big"), placeholder}, spilled);
            sink.publishStaged(2, spool, List.of(b("l"), b("big")), 0, 990, 1234, 2);
        }
        List<Outbox.Event> events = new ArrayList<>();
        Outbox.Entry entry;
        while ((entry = outbox.poll(0)) != null) {
            events.add((Outbox.Event) entry);
        }
        ChangeEventEncoder encoder = new ChangeEventEncoder();
        List<byte[]> elements = new ArrayList<>();
        int valueChunks = 0;
        int packed = 0;
        for (int i = 0; i < events.size() - 1; i++) {
            Outbox.Event chunk = events.get(i);
            assertFalse(chunk.resumable());
            assertEquals(990, chunk.event().getPosition().getOffset());
            assertTrue(encoder.encode(chunk.event()).length <= maxRecordBytes, "every chunk fits in one record");
            for (Command command : chunk.event().getCommands()) {
                if (command.getName().equals("RPUSH")) {
                    packed += command.getArgs().size() - 1;
                    assertEquals("__ferry:stage:eu-1:0:1:{l}", new String(bytes(command.getArgs().get(0)), StandardCharsets.UTF_8));
                    command.getArgs().subList(1, command.getArgs().size()).forEach(a -> elements.addAll(io.ferry.schemas.StagedBlock.unpack(bytes(a))));
                } else if (!command.getName().equals("DEL")) {
                    valueChunks++; // the big argument's own SET/APPEND stage
                }
            }
        }
        assertEquals("DEL", events.get(0).event().getCommands().get(0).getName(), "the first chunk starts the list over");
        assertTrue(valueChunks >= 3);
        assertEquals(1 + 5001 * 4 - 1, elements.size()); // 5000 x (header + 3) + (header + 3)
        assertEquals("3", new String(elements.get(0)));
        assertEquals("item-4999", new String(elements.get(5000 * 4 - 1)));
        assertEquals("3 3:40000", new String(elements.get(5000 * 4)), "the SET's value is staged: its element is the stage key");
        assertEquals("__ferry:stage:eu-1:0:0:{l}", new String(elements.get(5000 * 4 + 3)));
        Outbox.Event last = events.get(events.size() - 1);
        assertTrue(last.resumable());
        assertEquals(1234, last.event().getPosition().getOffset());
        List<byte[]> eval = last.event().getCommands().get(0).getArgs().stream().map(OutboxSinkStagingTest::bytes).toList();
        assertTrue(io.ferry.schemas.StagedBlock.isBlock(eval));
        assertEquals(List.of("1", "__ferry:stage:eu-1:0:1:{l}", Integer.toString(packed), "5001", "2"),
                eval.subList(1, eval.size()).stream().map(String::new).toList());

        try (io.ferry.capture.stream.BlockSpool spool = io.ferry.capture.stream.BlockSpool.create(dir.resolve("spool"))) {
            spool.write(new byte[][] {b("FCALL"), b("f"), b("0")}, Map.of());
            sink.publishStaged(0, spool, List.of(), 0, 2000, 2100, 0);
        }
        Outbox.Event refusal = (Outbox.Event) outbox.poll(0);
        assertEquals(null, outbox.poll(0), "a refused block sends no chunk");
        assertTrue(refusal.resumable());
        assertEquals(2100, refusal.event().getPosition().getOffset());
        List<byte[]> args = refusal.event().getCommands().get(0).getArgs().stream().map(OutboxSinkStagingTest::bytes).toList();
        assertTrue(new String(args.get(2)).contains("FCALL cannot run inside a script"), new String(args.get(2)));
    }
}
