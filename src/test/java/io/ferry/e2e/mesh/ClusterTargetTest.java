package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisClusterServers;
import io.ferry.localmesh.TestServers;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.ReplicationPolicy;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Issue 13 item 3: a standalone instance's changes applied to a 3-master Redis Cluster. Only the source's capture
 * and the cluster instance's apply agent run. Writes that span slots on the target are split where Redis allows
 * and dead-lettered otherwise; a kill -9 of the apply agent and a slot moved between masters while it applies lose
 * and double nothing (INCR and RPUSH oracles).
 */
class ClusterTargetTest {

    private static final int COUNTERS = 40;
    private static final int LISTS = 20;

    @Test
    void aStandaloneSourcesWritesReachAClusterTargetExactlyOnceThroughKillsAndSlotMoves() throws Exception {
        long began = System.nanoTime();
        Path dir = TestServers.tempDir("cluster-target");
        try (MeshUnderTest mesh = MeshUnderTest.servers(TestServers.kafka(), "conflicts: [{match: \"*\", policy: report}]\n", "A", "B");
             RedisClusterServers cluster = RedisClusterServers.start(TestServers.redis70(), dir, 3)) {
            Path clusterMesh = mesh.meshFileWithCluster("B", cluster, "");
            mesh.agentsUse(clusterMesh);
            mesh.startCapture("A");
            mesh.startApply("B");
            mesh.awaitReady("A", "capture");
            mesh.awaitReady("B", "apply");
            io.lettuce.core.cluster.RedisClusterClient clusterClient = io.lettuce.core.cluster.RedisClusterClient.create(
                    RedisURI.create("127.0.0.1", cluster.node(0).port()));
            try (StatefulRedisClusterConnection<String, String> connection = clusterClient.connect()) {
                RedisAdvancedClusterCommands<String, String> target = connection.sync();
                RedisCommands<String, String> source = mesh.redis("A");

                // multi-key writes across the target's slots: split where Redis allows, dead-lettered otherwise
                source.mset(Map.of("m:1", "a", "m:2", "b", "m:3", "c"));
                source.set("r:from", "x");
                source.rename("r:from", "r:to");
                for (String key : List.of("d:1", "d:2", "d:keep")) {
                    source.set(key, "3");
                }
                source.del("d:1", "d:2");
                assertTrue(HashSlot.of(utf8("r:from")) != HashSlot.of(utf8("r:to")), "the test needs a cross-slot RENAME");
                Await.equal(MeshUnderTest.CONVERGE, "MSET split per slot", "c", () -> target.get("m:3"));
                assertEquals("a", target.get("m:1"));
                assertEquals("b", target.get("m:2"));
                source.set("d:done", "1");
                Await.equal(MeshUnderTest.CONVERGE, "the writes after the DEL applied", "1", () -> target.get("d:done"));
                assertEquals(0L, target.exists("d:1", "d:2"), "DEL across slots applied");
                assertEquals("3", target.get("d:keep"));
                assertEquals("x", target.get("r:from"), "the RENAME across slots was not applied");
                assertEquals(0L, target.exists("r:to"));
                List<DeadLetter> letters = mesh.records(ReplicationPolicy.deadLetterTopic(mesh.id("B"))).stream()
                        .map(r -> AvroSerde.deadLetters().decode(r.value())).toList();
                assertEquals(1, letters.size(), letters.toString());
                assertEquals("CROSS_SLOT", letters.get(0).getReason());
                assertTrue(letters.get(0).getError().contains("RENAME touches keys in 2 slots"), letters.get(0).getError());

                // INCR/RPUSH load through a kill -9 of the apply agent and a slot move
                AtomicBoolean stop = new AtomicBoolean();
                AtomicInteger written = new AtomicInteger();
                Thread writer = new Thread(() -> {
                    try (var client = mesh.newClient("A").connect()) {
                        var redis = client.sync();
                        for (int i = 0; !stop.get(); i++) {
                            redis.incr("c:" + (i % COUNTERS));
                            redis.rpush("l:" + (i % LISTS), Integer.toString(i));
                            if (i % 50 == 0) {
                                redis.mset(Map.of("ms:" + (i % 7), Integer.toString(i), "ms:x" + (i % 5), Integer.toString(i)));
                            }
                            written.incrementAndGet();
                            Thread.sleep(1); // at most about 1000 pairs a second: the test's length stays bounded on a busy machine
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, "cluster-target-writer");
                writer.start();
                Await.until(Duration.ofSeconds(60), "first writes applied", () -> target.exists("c:0") == 1);
                Thread.sleep(1500);
                mesh.apply("B").kill();
                mesh.startApply("B");
                mesh.awaitReady("B", "apply");
                Thread.sleep(1000);
                int slot = HashSlot.of(utf8("c:1"));
                int from = cluster.ownerOf(slot);
                int to = (from + 1) % 3;
                cluster.moveSlot(slot, from, to);
                mesh.apply("B").kill(); // a second kill -9, right after a reshard, before moving another slot
                mesh.startApply("B");
                int listSlot = HashSlot.of(utf8("l:1"));
                int listFrom = cluster.ownerOf(listSlot);
                cluster.moveSlot(listSlot, listFrom, (listFrom + 2) % 3);
                mesh.awaitReady("B", "apply");
                Thread.sleep(1500);
                stop.set(true);
                writer.join();
                System.out.printf("%d INCR+RPUSH pairs written on the source; slots %d and %d moved while applying%n",
                        written.get(), slot, listSlot);

                Await.until(MeshUnderTest.CONVERGE, "every counter and list equal on the cluster", () -> {
                    for (int c = 0; c < COUNTERS; c++) {
                        if (!String.valueOf(source.get("c:" + c)).equals(String.valueOf(target.get("c:" + c)))) {
                            return false;
                        }
                    }
                    return target.llen("l:" + (LISTS - 1)).equals(source.llen("l:" + (LISTS - 1)))
                            && target.llen("l:0").equals(source.llen("l:0"));
                });
                for (int l = 0; l < LISTS; l++) {
                    assertEquals(source.lrange("l:" + l, 0, -1), target.lrange("l:" + l, 0, -1), "list l:" + l + " in order, nothing lost or doubled");
                }
                Map<String, String> sourceMs = new TreeMap<>();
                Map<String, String> targetMs = new TreeMap<>();
                for (String key : source.keys("ms:*")) {
                    sourceMs.put(key, source.get(key));
                    targetMs.put(key, target.get(key));
                }
                assertEquals(sourceMs, targetMs, "MSETs across slots");
                assertEquals(1, mesh.records(ReplicationPolicy.deadLetterTopic(mesh.id("B"))).size(), "no new dead letters");
                // status reads the cluster's checkpoint from the master of its slot
                FerryRun status = FerryRun.of("status", "-c", clusterMesh.toString(), "-i", mesh.id("B"), "--conflicts", "0");
                assertTrue(status.out().contains("apply    from " + mesh.id("A") + " ") && status.out().contains(": checkpoint ")
                        && !status.out().contains("checkpoint none") && !status.out().contains("MOVED"), status.toString());
            } finally {
                clusterClient.shutdown();
            }
            System.out.printf("cluster target test took %d s%n", (System.nanoTime() - began) / 1_000_000_000L);
        }
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
