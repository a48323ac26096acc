package io.ferry.e2e.convergence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.e2e.mesh.MeshUnderTest;
import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisClusterServers;
import io.ferry.localmesh.TestServers;
import io.ferry.resp.cluster.HashSlot;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.api.sync.RedisHashCommands;
import io.lettuce.core.api.sync.RedisListCommands;
import io.lettuce.core.api.sync.RedisStringCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Conflict repairs on a Redis Cluster target: standalone instances A and C and instance B on a 3-master
 * cluster, every agent running, keys settled by {@code lww} ({@code prio:*} by priority with B first).
 * The same keys are written on A and on the cluster concurrently (first with replication into both paused,
 * then with B's writes applied on A before A's own concurrent later writes are read back, then while the slot
 * of the keys B repairs moves between masters, then by two writers at once): all three instances end
 * identical, with the winner's values, and B's apply agent repairs the pairs it wins on the cluster, each
 * repair in its key's slot.
 */
class ClusterTargetRepairsTest {

    private static final int KEYS = 24;
    private static final Duration SETTLE = Duration.ofSeconds(60);

    @Test
    void concurrentWritesOnAStandaloneAndAClusterInstanceConvergeUnderLwwAndPriority() throws Exception {
        long began = System.nanoTime();
        Path dir = TestServers.tempDir("cluster-repairs");
        try (MeshUnderTest mesh = MeshUnderTest.servers(TestServers.kafka(), null, "A", "B", "C");
             RedisClusterServers cluster = RedisClusterServers.start(TestServers.redis70(), dir, 3)) {
            String conflicts = "conflicts:\n  - {match: \"prio:*\", policy: priority, order: [" + mesh.id("B") + ", " + mesh.id("A")
                    + ", " + mesh.id("C") + "]}\n  - {match: \"*\", policy: lww}\n";
            mesh.agentsUse(mesh.meshFileWithCluster("B", cluster, conflicts));
            RedisClusterClient clusterClient = RedisClusterClient.create(RedisURI.create("127.0.0.1", cluster.node(0).port()));
            try (StatefulRedisClusterConnection<String, String> bConnection = clusterClient.connect();
                 Replicas replicas = new Replicas(mesh, Map.of("B", cluster));
                 ConflictLog log = new ConflictLog(mesh)) {
                mesh.startAgents(); // before this change B's apply agent refused lww and priority on a cluster and exited 2
                RedisCommands<String, String> a = replicas.connection("A").sync();
                RedisAdvancedClusterCommands<String, String> b = bConnection.sync();
                Set<Integer> masters = new HashSet<>();
                for (int i = 0; i < KEYS; i++) {
                    masters.add(cluster.ownerOf(HashSlot.of(("lww:str:" + i).getBytes(StandardCharsets.UTF_8))));
                }
                assertEquals(3, masters.size(), "the keys are spread over the three masters");

                // replication into A and B paused: every pair below is concurrent
                pauseApply(mesh, "A", "B");
                for (int i = 0; i < KEYS; i++) {
                    int n = i;
                    Runnable onA = () -> {
                        a.set("lww:str:" + n, "A" + n);
                        a.rpush("lww:list:" + n, "A" + n);
                        a.set("prio:str:" + n, "A" + n);
                        a.rpush("prio:list:" + n, "A" + n);
                        a.set("lww:clash:" + n, "A" + n);
                    };
                    Runnable onB = () -> {
                        b.set("lww:str:" + n, "B" + n);
                        b.rpush("lww:list:" + n, "B" + n);
                        b.set("prio:str:" + n, "B" + n);
                        b.rpush("prio:list:" + n, "B" + n);
                        b.hset("lww:clash:" + n, "f", "B" + n);
                    };
                    // either side writes first, so that under lww each wins some keys
                    (i % 2 == 0 ? onA : onB).run();
                    Thread.sleep(20);
                    (i % 2 == 0 ? onB : onA).run();
                }
                resumeApply(mesh, "A", "B");

                Snapshot prio = awaitIdentical(mesh, replicas, "prio:", "priority pairs");
                for (int i = 0; i < KEYS; i++) {
                    assertEquals("B" + i, prio.keys().get("prio:str:" + i).content(), "B is first in the order: its value stays everywhere");
                }
                Snapshot lww = awaitIdentical(mesh, replicas, "lww:", "lww pairs");
                assertEquals(3 * KEYS, lww.keys().size(), lww.keys().keySet().toString());
                List<ConflictLog.Entry> recorded = log.read(e -> e.key().startsWith("lww:") || e.key().startsWith("prio:"));
                for (ConflictLog.Entry entry : recorded) {
                    assertFalse("REPAIR_FAILED".equals(entry.resolution()), entry.toString());
                }
                assertTheRecordedWinnersValues(mesh, log, lww, "lww:str:");
                Set<String> repairedOnB = new HashSet<>();
                recorded.stream().filter(e -> e.applier().equals(mesh.id("B")) && mesh.id("B").equals(e.winner())
                        && "REPAIRED".equals(e.resolution())).forEach(e -> repairedOnB.add(e.key()));
                assertTrue(repairedOnB.stream().anyMatch(k -> k.startsWith("prio:list:")) && repairedOnB.stream().anyMatch(k -> k.startsWith("lww:")),
                        "B won pairs and repaired them on the cluster: " + repairedOnB);
                assertTrue(mesh.metric("B", "apply", "ferry_apply_repairs_total", "outcome=\"ok\"") > 0);
                assertEquals(0.0, mesh.metric("B", "apply", "ferry_apply_repairs_total", "outcome=\"failed\""));

                // B's writes applied on A over A's concurrent later writes before A's own stream has them (A's
                // capture down meanwhile): the pairs are found only when A's writes are read back, and A's repairs
                // must run its writes again, not copy the values A holds then (B's), whatever A's conflict window
                // has forgotten by the time they run
                pauseApply(mesh, "A", "B");
                mesh.capture("A").stop();
                for (int i = 0; i < KEYS; i++) {
                    b.set("late:str:" + i, "B" + i);
                }
                for (int i = 0; i < KEYS; i++) {
                    a.set("late:str:" + i, "A" + i); // read by A's capture only after its restart: the later capture time
                }
                mesh.startApply("A");
                mesh.awaitReady("A", "apply");
                // every key: B's writes come from the cluster's three partitions, applied independently
                Await.until(SETTLE, "B's writes applied on A over A's own before A's capture restarts", () -> {
                    for (int i = 0; i < KEYS; i++) {
                        if (!("B" + i).equals(a.get("late:str:" + i))) {
                            return false;
                        }
                    }
                    return true;
                });
                mesh.startCapture("A");
                mesh.startApply("B");
                mesh.awaitReady("A", "capture");
                mesh.awaitReady("B", "apply");
                Snapshot late = awaitIdentical(mesh, replicas, "late:", "losers applied before the winners were read back");
                for (int i = 0; i < KEYS; i++) {
                    assertEquals("A" + i, late.keys().get("late:str:" + i).content(), "A's later write of late:str:" + i + " everywhere");
                }
                assertEquals(0.0, mesh.metric("B", "apply", "ferry_apply_repairs_total", "outcome=\"failed\""));

                // repairs on the cluster while the one slot of the keys they repair moves to another master, as
                // redis-cli --cluster reshard moves it: half its keys moved before the agents resume, the rest a
                // moment later; B's repairs and A's writes applied on B follow ASK, TRYAGAIN and then MOVED
                String tagged = "move:{mv}:";
                int slot = HashSlot.of(tagged.getBytes(StandardCharsets.UTF_8));
                int from = cluster.ownerOf(slot);
                int to = (from + 1) % 3;
                pauseApply(mesh, "A", "B");
                List<String> moving = new ArrayList<>();
                for (int i = 0; i < KEYS; i++) {
                    a.set(tagged + i, "A" + i);
                    moving.add(tagged + i);
                }
                Thread.sleep(20);
                for (int i = 0; i < KEYS; i++) {
                    b.set(tagged + i, "B" + i); // later: B wins the pairs under lww and repairs them on the cluster
                }
                cluster.beginSlotMove(slot, from, to);
                cluster.migrateKeys(from, to, moving.subList(0, KEYS / 2));
                resumeApply(mesh, "A", "B");
                Thread.sleep(2_000);
                List<String> left;
                while (!(left = cluster.admin(from, redis -> redis.clusterGetKeysInSlot(slot, 1000))).isEmpty()) {
                    cluster.migrateKeys(from, to, left);
                }
                cluster.finishSlotMove(slot, to);
                Snapshot moved = awaitIdentical(mesh, replicas, "move:", "repairs while their slot moved");
                assertEquals(to, cluster.ownerOf(slot));
                assertTheRecordedWinnersValues(mesh, log, moved, tagged);
                assertTrue(mesh.metric("B", "apply", "ferry_apply_repairs_total", "outcome=\"ok\"") > 0,
                        "B repaired keys of the moving slot (its counter restarted with the agent)");
                assertEquals(0.0, mesh.metric("B", "apply", "ferry_apply_repairs_total", "outcome=\"failed\""));

                // two writers at once on the same keys, one on A and one on the cluster
                AtomicBoolean stop = new AtomicBoolean();
                CompletableFuture<Void> writerA = CompletableFuture.runAsync(() -> write("A", a, stop));
                CompletableFuture<Void> writerB = CompletableFuture.runAsync(() -> write("B", b, stop));
                Thread.sleep(8_000);
                stop.set(true);
                CompletableFuture.allOf(writerA, writerB).get();
                awaitIdentical(mesh, replicas, "live:", "two writers at once");
                assertEquals(0.0, mesh.metric("B", "apply", "ferry_apply_repairs_total", "outcome=\"failed\""));
                System.out.printf("repairs on the cluster (B): %.0f; the whole test took %d s%n",
                        mesh.metric("B", "apply", "ferry_apply_repairs_total", "outcome=\"ok\""), (System.nanoTime() - began) / 1_000_000_000L);
            } catch (AssertionError | RuntimeException e) {
                mesh.keepLogs("cluster repairs test failed");
                throw e;
            } finally {
                clusterClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            }
        }
    }

    /**
     * Every key {@code prefix<i>} (a SET on A and one on B) has one winner in the conflict records, both sides
     * agreeing, and holds its value ({@code A<i>} or {@code B<i>}) everywhere.
     */
    private static void assertTheRecordedWinnersValues(MeshUnderTest mesh, ConflictLog log, Snapshot snapshot, String prefix) {
        Await.until(SETTLE, "conflict records with a winner for every " + prefix + "<i>", () -> {
            Set<String> recordedKeys = new HashSet<>();
            log.read(e -> e.key().startsWith(prefix) && e.winner() != null).forEach(e -> recordedKeys.add(e.key()));
            return recordedKeys.size() == KEYS;
        });
        List<ConflictLog.Entry> recorded = log.read(e -> e.key().startsWith(prefix) && e.winner() != null);
        for (int i = 0; i < KEYS; i++) {
            String key = prefix + i;
            Set<String> winners = new HashSet<>();
            recorded.stream().filter(e -> e.key().equals(key)).forEach(e -> winners.add(e.winner()));
            assertEquals(1, winners.size(), key + " has one winner, recorded alike by both sides: " + winners);
            String winner = winners.iterator().next().equals(mesh.id("A")) ? "A" : "B";
            assertEquals(winner + i, snapshot.keys().get(key).content(), "the lww winner's value of " + key + " everywhere");
        }
    }

    /** Writes strings, lists and hashes on a small shared keyspace until told to stop, about 200 times a second. */
    private static <C extends RedisStringCommands<String, String> & RedisListCommands<String, String> & RedisHashCommands<String, String>>
            void write(String who, C redis, AtomicBoolean stop) {
        for (int i = 0; !stop.get(); i++) {
            redis.set("live:str:" + (i % 10), who + i);
            redis.rpush("live:list:" + (i % 5), who + i);
            redis.hset("live:hash:" + (i % 5), "f" + (i % 3), who + i);
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static Snapshot awaitIdentical(MeshUnderTest mesh, Replicas replicas, String prefix, String what) {
        try {
            return replicas.awaitIdentical(prefix, SETTLE, Duration.ofSeconds(1), what);
        } catch (AssertionError e) {
            for (String name : mesh.names()) {
                for (String role : List.of("capture", "apply")) {
                    System.out.printf("warnings of %s %s:%n%s%n", role, name, mesh.warnings(role, name, 30));
                }
            }
            throw e;
        }
    }

    /** Stops the apply agents of {@code names} together (a clean stop). */
    private static void pauseApply(MeshUnderTest mesh, String... names) {
        CompletableFuture.allOf(java.util.Arrays.stream(names)
                .map(name -> CompletableFuture.runAsync(() -> mesh.apply(name).stop())).toArray(CompletableFuture[]::new)).join();
    }

    private static void resumeApply(MeshUnderTest mesh, String... names) {
        for (String name : names) {
            mesh.startApply(name);
        }
        for (String name : names) {
            mesh.awaitReady(name, "apply");
        }
    }
}
