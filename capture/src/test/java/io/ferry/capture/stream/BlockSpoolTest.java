package io.ferry.capture.stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.resp.SpilledBulk;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.StagedBlock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockSpoolTest {

    @TempDir
    Path dir;

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<BlockSpool.Command> read(BlockSpool spool) throws InterruptedException {
        List<BlockSpool.Command> commands = new ArrayList<>();
        spool.forEach(commands::add);
        return commands;
    }

    private static byte[][] command(String name, String key, int items, String prefix) {
        byte[][] argv = new byte[2 + items][];
        argv[0] = b(name);
        argv[1] = b(key);
        for (int i = 0; i < items; i++) {
            argv[2 + i] = b(prefix + i);
        }
        return argv;
    }

    @Test
    void roundTripsCommandsAndBigArgumentsAndSplitsVariadicCommandsTooLongForAScript() throws Exception {
        byte[] placeholder = new byte[0];
        Map<byte[], SpilledBulk> spilled = new IdentityHashMap<>();
        spilled.put(placeholder, new SpilledBulk(dir.resolve("value"), 123));
        try (BlockSpool spool = BlockSpool.create(dir)) {
            spool.write(new byte[][] {b("INCR"), b("n")}, spilled);
            spool.write(new byte[][] {b("SET"), b("k"), placeholder}, spilled);
            spool.write(command("RPUSH", "l", 20_000, "e"), spilled);
            byte[][] hset = command("HSET", "h", 9_000, "f");
            spool.write(hset, spilled);
            assertNull(spool.refusal());
            List<BlockSpool.Command> commands = read(spool);
            assertEquals(spool.totals().commands(), commands.size());
            assertArrayEquals(new byte[][] {b("INCR"), b("n")}, commands.get(0).argv());
            assertNull(commands.get(0).bulks());
            assertEquals(0, commands.get(1).bulks()[2]);
            assertEquals(-1, commands.get(1).bulks()[1]);
            assertEquals(List.of(spilled.get(placeholder)), spool.bulks());
            // RPUSH of 20000 items: 3 parts of at most MAX_ARGS arguments, same items in the same order
            List<byte[]> items = new ArrayList<>();
            int c = 2;
            for (; c < commands.size() && new String(commands.get(c).argv()[0], StandardCharsets.UTF_8).equals("RPUSH"); c++) {
                byte[][] part = commands.get(c).argv();
                assertTrue(part.length <= StagedBlock.MAX_ARGS);
                assertArrayEquals(b("l"), part[1]);
                items.addAll(List.of(part).subList(2, part.length));
            }
            assertEquals(3, c - 2);
            assertEquals(20_000, items.size());
            for (int i = 0; i < items.size(); i++) {
                assertArrayEquals(b("e" + i), items.get(i));
            }
            // HSET of 4500 pairs: split on pair boundaries
            int hsetParts = 0;
            for (; c < commands.size(); c++, hsetParts++) {
                byte[][] part = commands.get(c).argv();
                assertEquals(0, (part.length - 2) % 2, "whole field/value pairs");
                assertTrue(part.length <= StagedBlock.MAX_ARGS);
            }
            assertEquals(2, hsetParts);
        }
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(0, left.count(), "closing deletes the spool file");
        }
    }

    @Test
    void refusesWhatAScriptCannotRun() {
        try (BlockSpool spool = BlockSpool.create(dir)) {
            spool.write(new byte[][] {b("INCR"), b("n")}, Map.of());
            spool.write(new byte[][] {b("FCALL"), b("f"), b("0")}, Map.of());
            assertTrue(spool.refusal().contains("FCALL cannot run inside a script"), spool.refusal());
        }
        try (BlockSpool spool = BlockSpool.create(dir)) {
            byte[][] zadd = command("ZADD", "z", 8000, "m");
            zadd[2] = b("NX"); // a flag: not plain score/member pairs
            spool.write(zadd, Map.of());
            assertTrue(spool.refusal().contains("ZADD of 8002 arguments"), spool.refusal());
        }
        try (BlockSpool spool = BlockSpool.create(dir)) {
            byte[][] zadd = new byte[2 + 8000][];
            zadd[0] = b("ZADD");
            zadd[1] = b("z");
            for (int i = 2; i < zadd.length; i += 2) {
                zadd[i] = b(Integer.toString(i));
                zadd[i + 1] = b("m" + i);
            }
            spool.write(zadd, Map.of());
            assertNull(spool.refusal(), "plain score/member pairs are split");
            assertEquals(2, spool.totals().commands());
        }
    }

    @Test
    void theMapperSpoolsABlockAboveItsLimitAndDropsASpooledEchoBlock() throws Exception {
        List<String> staged = new ArrayList<>();
        List<String> published = new ArrayList<>();
        StreamSink sink = new StreamSink() {
            @Override
            public void publish(EventKind kind, int db, List<byte[][]> commands, List<byte[]> keys, long endOffset, int endDb) {
                published.add(kind + " " + commands.size());
            }

            @Override
            public void publishStaged(int db, BlockSpool spool, List<byte[]> keys, long droppedKeys, long beforeOffset,
                                      long endOffset, int endDb) throws InterruptedException {
                List<BlockSpool.Command> commands = new ArrayList<>();
                spool.forEach(commands::add);
                staged.add(commands.size() + " commands, " + keys.size() + " keys (+" + droppedKeys + "), " + beforeOffset + ".." + endOffset);
            }

            @Override
            public void sourceTime(long millis, boolean republished) {
            }

            @Override
            public void spilledValues(Map<byte[], SpilledBulk> values, long beforeOffset, int beforeDb) {
            }

            @Override
            public void keyExpiries(io.ferry.schemas.KeyExpiries expiries) {
            }

            @Override
            public void advance(long endOffset, int endDb) {
            }

            @Override
            public void filtered(String command, String reason) {
            }

            @Override
            public void applied(String origin, int partition, long offset) {
            }

            @Override
            public void echo(String origin) {
                published.add("echo " + origin);
            }
        };
        StreamMapper mapper = new StreamMapper(sink, KeyExtractor.withoutMetadata(), new ExpiryTracker(), EvictionCheck.NONE,
                System::currentTimeMillis, 50, 0, 0).spoolBlocksAbove(10_000, dir);
        long offset = 0;
        mapper.accept(new byte[][] {b("MULTI")}, offset += 10);
        for (int i = 0; i < 2000; i++) {
            mapper.accept(new byte[][] {b("INCR"), b("counter:" + i)}, offset += 10);
        }
        mapper.accept(new byte[][] {b("EXEC")}, offset += 10);
        // the keys an event carries are capped at a quarter of the limit (each counted with 8 bytes of overhead)
        assertEquals(List.of("2000 commands, 268 keys (+1732), 0..20020"), staged);
        assertEquals(List.of(), published);

        // a small block stays in memory; a single command above the limit is staged alone
        mapper.accept(new byte[][] {b("MULTI")}, offset += 10);
        mapper.accept(new byte[][] {b("INCR"), b("a")}, offset += 10);
        mapper.accept(new byte[][] {b("INCR"), b("b")}, offset += 10);
        mapper.accept(new byte[][] {b("EXEC")}, offset += 10);
        assertEquals(List.of("TRANSACTION 2"), published);
        mapper.accept(command("RPUSH", "l", 2000, "item-"), offset += 10);
        assertEquals(2, staged.size());
        assertTrue(staged.get(1).startsWith("1 commands, 1 keys (+0)"), staged.get(1));

        // the local apply agent's own big block: spooled while it arrives, dropped as an echo at EXEC
        mapper.accept(new byte[][] {b("MULTI")}, offset += 10);
        for (int i = 0; i < 2000; i++) {
            mapper.accept(new byte[][] {b("INCR"), b("counter:" + i)}, offset += 10);
        }
        mapper.accept(new byte[][] {b("SET"), b("__ferry:ckpt:b:0"), b("42")}, offset += 10);
        mapper.accept(new byte[][] {b("EXEC")}, offset += 10);
        assertEquals(2, staged.size(), "an echo is not published");
        assertEquals(List.of("TRANSACTION 2", "echo b"), published);
        try (Stream<Path> left = Files.list(dir)) {
            assertFalse(left.findAny().isPresent(), "no spool file left behind");
        }
    }
}
