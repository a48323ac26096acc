package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Issue 11: a Redis restarted without its data is held back by its capture, an apply agent with no
 * checkpoints refuses a trimmed topic, and the capture measures how much outage the source's
 * replication backlog covers.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SourceLifecycleTest {

    private static final Duration WAIT = Duration.ofSeconds(45);
    private MeshUnderTest capturesOnly;

    @Test
    void aRedisRestartedWithoutPersistenceUnderLoadIsHeldBackAndNoPeerLosesOrGetsBackAKey() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.start("A", "B")) {
            RedisCommands<String, String> a = mesh.redis("A");
            RedisCommands<String, String> b = mesh.redis("B");
            // B holds most of the data: after the wipe, what B's own apply agent replays from A stays far below 10%
            for (int i = 0; i < 5000; i += 500) {
                Map<String, String> batch = new HashMap<>();
                for (int j = i; j < i + 500; j++) {
                    batch.put("b:k:" + j, "v" + j);
                }
                b.mset(batch);
            }
            for (int i = 0; i < 100; i++) {
                a.set("a:k:" + i, "v" + i);
                a.set("a:gone:" + i, "v" + i);
            }
            Await.until(MeshUnderTest.CONVERGE, "A and B identical before the wipe",
                    () -> Keyspace.of(a).differences(Keyspace.of(b), 1000).isEmpty() && a.dbsize() >= 5200);

            try (Writer onA = new Writer(mesh.newClient("A"), "a:load:"); Writer onB = new Writer(mesh.newClient("B"), "b:load:")) {
                Await.until(WAIT, "load running on both", () -> onA.written() > 50 && onB.written() > 50);
                long writtenOnB = onB.written();
                mesh.local().redis(mesh.id("B")).stop();
                mesh.local().redis(mesh.id("B")).start(); // no persistence: B is empty
                for (int i = 0; i < 100; i++) {
                    a.del("a:gone:" + i); // a republished copy of B would bring these back to A
                }
                Await.until(WAIT, "B's capture reports the wiped source",
                        () -> mesh.httpGet("B", "capture", "/readyz").startsWith("source wiped"));
                Await.until(WAIT, "B's capture exports it", () -> mesh.metric("B", "capture", "ferry_capture_source_wiped") == 1);
                Await.until(WAIT, "B's writes keep going", () -> onB.written() > writtenOnB + 100);
            }
            System.out.println("B's capture /readyz: " + mesh.httpGet("B", "capture", "/readyz"));
            String log = Files.readString(mesh.log("capture", "B"));
            assertTrue(log.contains("ERROR") && log.contains("--accept-wiped-source"), "the capture log says what to run");
            assertTrue(mesh.capture("B").isAlive(), "the capture waits, it does not exit");

            // A has applied all that B's capture published before the wipe; B's topic gets nothing more
            String bTopic = ReplicationPolicy.changesTopic(mesh.id("B"));
            long bLast = lastOffset(mesh, bTopic);
            Await.until(WAIT, "A applied B's topic to its end", () -> mesh.checkpoint("A", "B") >= bLast);
            Keyspace before = Keyspace.of(a);
            long aLast = lastOffset(mesh, ReplicationPolicy.changesTopic(mesh.id("A")));
            Await.until(WAIT, "B's apply agent re-applied A's whole topic into the wiped B",
                    () -> mesh.checkpoint("B", "A") >= aLast && b.exists("a:k:99") == 1 && b.exists("a:gone:99") == 0);
            b.set("b:after-wipe", "1"); // a write on the wiped B: not published while it is held back
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3); // it would reach A within a second if it were
            while (System.nanoTime() < deadline) {
                assertEquals(0, a.exists("b:after-wipe"), "a write on the held-back B reached A");
                Thread.sleep(100);
            }
            Keyspace after = Keyspace.of(a);
            assertEquals(List.of(), before.differences(after, 1000), "A's keyspace did not change while B was held back");
            assertEquals(List.of(), after.differences(before, 1000));
            for (int i = 0; i < 5000; i++) {
                if (!after.keys().containsKey("b:k:" + i)) {
                    throw new AssertionError("A lost b:k:" + i);
                }
            }
            assertTrue(after.keys().keySet().stream().noneMatch(k -> k.startsWith("a:gone:")), "no key deleted on A came back");
            assertTrue(!after.keys().containsKey("b:after-wipe"));
            List<ChangeEvent> published = mesh.changeEvents("B");
            assertEquals(bLast, lastOffset(mesh, bTopic), "B's topic did not grow");
            assertEquals(1, published.stream().filter(e -> e.getKind() == EventKind.SNAPSHOT_START).count(), "no snapshot of the wiped B");
        }
    }

    @Test
    void anApplyAgentWithoutCheckpointsFacingATrimmedTopicExitsSayingWhatToRun() throws Exception {
        MeshUnderTest mesh = capturesOnly();
        for (int i = 0; i < 50; i++) {
            mesh.redis("A").incr("counter");
        }
        String topic = ReplicationPolicy.changesTopic(mesh.id("A"));
        // counted by key: the other test on this mesh writes to A too
        Await.until(WAIT, "A's writes in its topic", () -> mesh.changeEvents("A").stream()
                .filter(e -> e.getKind() == EventKind.COMMAND && e.getKeys().stream()
                        .anyMatch(k -> "counter".equals(java.nio.charset.StandardCharsets.UTF_8.decode(k.duplicate()).toString())))
                .count() >= 50);
        long trimmedTo;
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", mesh.local().kafka().bootstrap()))) {
            TopicPartition partition = new TopicPartition(topic, 0);
            trimmedTo = mesh.records(topic).get(20).offset();
            admin.deleteRecords(Map.of(partition, RecordsToDelete.beforeOffset(trimmedTo))).all().get(30, TimeUnit.SECONDS);
        }
        mesh.startApply("B");
        int code = mesh.apply("B").waitFor(Duration.ofSeconds(60));
        String log = Files.readString(mesh.log("apply", "B"));
        assertEquals(io.ferry.cli.ExitCode.FAILED, code, "a fatal stop (the exit-code table's 1: an agent stopped by itself); log:\n" + log);
        assertTrue(log.contains("has no checkpoint for " + mesh.id("A") + "'s changes"), log);
        assertTrue(log.contains("starts at offset " + trimmedTo), log);
        assertTrue(log.contains("SET __ferry:ckpt:" + mesh.id("A") + ":0 " + (trimmedTo - 1)), log);
        assertEquals(null, mesh.redis("B").get("counter"), "no tail applied");
    }

    @Test
    void theCaptureExportsHowManySecondsOfWritesTheBacklogHoldsAndWarnsWhenFew() throws Exception {
        MeshUnderTest mesh = capturesOnly(); // what is measured is A's capture alone: no apply agent plays a part
        RedisCommands<String, String> a = mesh.redis("A");
        a.configSet("repl-backlog-size", "1mb"); // the capture reads it from INFO at every reading
        try (Writer load = new Writer(mesh.newClient("A"), "load:", 2_000)) {
            Await.until(WAIT, "load running", () -> load.written() > 300);
            long offset0 = masterOffset(a);
            long t0 = System.nanoTime();
            Thread.sleep(10_000); // the span the rate is measured over: the capture's window, 10 s
            double rate = (masterOffset(a) - offset0) * 1e9 / (System.nanoTime() - t0);
            double expected = 1024 * 1024 / rate;
            double headroom = mesh.metric("A", "capture", "ferry_capture_backlog_headroom_seconds");
            System.out.printf("write rate %.0f B/s, backlog 1 MiB: expected about %.1f s of headroom, exported %.1f s%n",
                    rate, expected, headroom);
            assertTrue(headroom > expected / 2 && headroom < expected * 2, "headroom " + headroom + " s, expected about " + expected);
            assertTrue(headroom < 60, "this load leaves less than a minute");
            Await.until(WAIT, "the capture warns: less than 60 s",
                    () -> logContains(mesh.log("capture", "A"), "holds only"));
        }
    }

    /**
     * One mesh for the two tests that need only the captures of A and B running: neither stops or wipes anything the
     * other relies on (the trimmed topic's test starts B's apply agent, which exits at once; the headroom test reads A's
     * capture), so they share it rather than each starting its own.
     */
    private MeshUnderTest capturesOnly() {
        if (capturesOnly == null) {
            capturesOnly = MeshUnderTest.servers(TestServers.kafka(), null, "A", "B");
            capturesOnly.startCapture("A");
            capturesOnly.startCapture("B"); // B's apply agent reads B's own topic too
            capturesOnly.awaitReady("A", "capture");
            capturesOnly.awaitReady("B", "capture");
        }
        return capturesOnly;
    }

    @AfterAll
    void stopSharedMesh() {
        if (capturesOnly != null) {
            capturesOnly.close();
        }
    }

    private static boolean logContains(java.nio.file.Path log, String text) {
        try {
            return Files.readString(log).contains(text);
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static long lastOffset(MeshUnderTest mesh, String topic) {
        var records = mesh.records(topic);
        return records.get(records.size() - 1).offset();
    }

    private static long masterOffset(RedisCommands<String, String> redis) {
        return io.ferry.capture.position.SourceOffsetPoller.parseMasterOffset(redis.info("replication"));
    }

    /** A client writing numbered keys until closed, riding out its server's restart. */
    private static final class Writer implements AutoCloseable {
        private final RedisClient client;
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AtomicLong written = new AtomicLong();
        private final Thread thread;

        Writer(RedisClient client, String prefix) {
            this(client, prefix, 0);
        }

        /** @param valueBytes size of each value (0: a short one) */
        Writer(RedisClient client, String prefix, int valueBytes) {
            this.client = client;
            String value = valueBytes == 0 ? "x" : "x".repeat(valueBytes);
            thread = new Thread(() -> {
                try (StatefulRedisConnection<String, String> connection = client.connect()) {
                    connection.setTimeout(Duration.ofSeconds(5));
                    while (!stop.get()) {
                        try {
                            connection.sync().set(prefix + written.get(), value);
                            written.incrementAndGet();
                            Thread.sleep(valueBytes == 0 ? 2 : 5); // client pacing, not waiting for a result
                        } catch (io.lettuce.core.RedisException e) {
                            Thread.sleep(50); // the server is restarting
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "writer-" + prefix);
            thread.start();
        }

        long written() {
            return written.get();
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(10_000);
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }
}
