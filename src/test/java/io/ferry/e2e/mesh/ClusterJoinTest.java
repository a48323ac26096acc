package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisClusterServers;
import io.ferry.localmesh.TestServers;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import io.lettuce.core.MigrateArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Issue 13 with issue 11's lifecycle: {@code ferry join} where the joining instance or the peer it copies is a
 * 3-master Redis Cluster (instance B), while the other instances keep writing INCR/RPUSH oracles. Afterwards
 * every instance holds the same keys and every oracle is exact (nothing lost, nothing applied twice), and the
 * joined instance's capture published only its own writes, not the copy.
 */
class ClusterJoinTest {

    private static final List<String> NAMES = List.of("A", "B", "C");

    // A first join (no topic of the joining instance yet) is tested cluster to cluster here and standalone to
    // standalone in MeshLifecycleTest; the mixed pairs run as re-joins below, which take the same copy path.
    @Test
    void aClusterInstanceJoinsFromAClusterPeerWhileTheOthersWrite() throws Exception {
        joinUnderLoad("C", "B", List.of("B", "C"), false);
    }

    /** A rebuilt cluster instance is re-seeded: its writes from before are in the copy, its capture goes on from the copy. */
    @Test
    void aClusterInstanceRejoinsFromAStandalonePeerWithReplaceData() throws Exception {
        joinUnderLoad("B", "A", List.of("B"), true);
    }

    /** The peer is a cluster: the join waits until it has applied the rejoining instance's topic in every slot. */
    @Test
    void aStandaloneInstanceRejoinsFromAClusterPeerWithReplaceData() throws Exception {
        joinUnderLoad("C", "B", List.of("B"), true);
    }

    /**
     * {@code joining} joins from {@code peer} while the third instance and the peer write; {@code clusters} are
     * 3-master clusters. {@code rejoin}: {@code joining} ran and wrote first, then its agents were stopped and it
     * is re-seeded with --replace-data.
     */
    private static void joinUnderLoad(String joining, String peer, List<String> clusters, boolean rejoin) throws Exception {
        Path dir = TestServers.tempDir("cluster-join");
        Map<String, RedisClusterServers> servers = new HashMap<>();
        try (MeshUnderTest mesh = MeshUnderTest.servers(TestServers.kafka(), "conflicts: [{match: \"*\", policy: report}]\n", "A", "B", "C")) {
            for (String name : clusters) {
                servers.put(name, RedisClusterServers.start(TestServers.redis70(), dir.resolve(name), 3));
            }
            try (ClusterInstances redis = new ClusterInstances(mesh, servers)) {
                Path meshFile = ClusterInstances.meshFile(mesh, servers, dir);
                mesh.agentsUse(meshFile);
                List<String> running = NAMES.stream().filter(n -> rejoin || !n.equals(joining)).toList();
                ClusterInstances.startAndSeed(mesh, redis, running);

                List<CounterLoad> all = new ArrayList<>();
                if (rejoin) {
                    CounterLoad before = redis.load(joining, "load:" + joining.toLowerCase() + ":before", 4_000, 10, Duration.ofSeconds(2)).start();
                    before.await();
                    all.add(before);
                    Await.until(MeshUnderTest.CONVERGE, joining + "'s writes applied on " + peer, () -> redis.applied(before, peer));
                    mesh.capture(joining).stop();
                    mesh.apply(joining).stop();
                }
                List<CounterLoad> loads = new ArrayList<>();
                for (String name : NAMES.stream().filter(n -> !n.equals(joining)).toList()) {
                    loads.add(redis.load(name, 15_000, 20, Duration.ofSeconds(15)).start()); // a join takes 2-5 s here
                }
                Thread.sleep(3_000); // writes of both in flight, applied on the peer while it is copied
                assertTrue(loads.stream().noneMatch(CounterLoad::isDone), "every running instance is writing when the join starts");
                FerryRun join = rejoin
                        ? FerryRun.of("join", "-c", meshFile.toString(), "-i", mesh.id(joining), "--from", mesh.id(peer), "--replace-data")
                        : FerryRun.of("join", "-c", meshFile.toString(), "-i", mesh.id(joining), "--from", mesh.id(peer));
                System.out.println(join);
                assertEquals(0, join.exitCode(), join.toString());
                assertTrue(loads.stream().noneMatch(CounterLoad::isDone), "the others kept writing through the join");

                mesh.startCapture(joining);
                mesh.startApply(joining);
                mesh.awaitReady(joining, "capture");
                mesh.awaitReady(joining, "apply");
                CounterLoad own = redis.load(joining, 4_000, 10, Duration.ofSeconds(4)).start();
                loads.forEach(CounterLoad::await);
                own.await();
                all.addAll(loads);
                all.add(own);
                for (String on : NAMES) {
                    Await.until(MeshUnderTest.CONVERGE, "every load applied on " + on, () -> all.stream().allMatch(l -> redis.applied(l, on)));
                    all.forEach(l -> redis.assertExact(l, on));
                }
                Await.until(MeshUnderTest.CONVERGE, "three identical keyspaces", () -> redis.identical(NAMES));
                for (String name : running) {
                    assertEquals("2", redis.hget(joining, "pre:" + name.toLowerCase() + ":hash", "f2"), "the copy has " + name + "'s hash");
                }
                List<String> ownPrefixes = List.of("load:" + joining.toLowerCase() + ":", "pre:" + joining.toLowerCase() + ":");
                for (ChangeEvent event : mesh.changeEvents(joining)) {
                    assertTrue(event.getKind() != EventKind.SNAPSHOT_KEY && event.getKind() != EventKind.SNAPSHOT_CHUNK,
                            joining + "'s capture published the copy: " + event.getKind());
                    for (ByteBuffer key : event.getKeys()) {
                        String text = StandardCharsets.UTF_8.decode(key.duplicate()).toString();
                        assertTrue(ownPrefixes.stream().anyMatch(text::startsWith), joining + " published a key it did not write: " + text);
                    }
                }
                for (String name : NAMES) {
                    assertEquals(0.0, mesh.metric(name, "apply", "ferry_apply_dead_letters_total"), name + "'s dead letters");
                }
            } catch (Exception | AssertionError e) {
                mesh.keepLogs("failed: " + e.getMessage());
                throw e;
            }
        } finally {
            servers.values().forEach(RedisClusterServers::close);
        }
    }

    /**
     * Issue 13: a slot of the cluster peer B is half migrated between two of its masters, its keys moving a few at a
     * time, all the while C joins from B (A and B writing): the join must either be correct or refuse (exit 7)
     * saying what to do, losing nothing; run again once the move is done, it succeeds, and afterwards every instance
     * holds the same keys and every oracle is exact. The keys move from a master copied after the one they move to,
     * so a join that copied both while keys moved in between would miss those keys.
     */
    @Test
    void aJoinFromAClusterPeerWhileOneOfItsSlotsMovesIsRefusedThenSucceedsAgain() throws Exception {
        long began = System.nanoTime();
        Path dir = TestServers.tempDir("cluster-join-move");
        Map<String, RedisClusterServers> servers = new HashMap<>();
        try (MeshUnderTest mesh = MeshUnderTest.servers(TestServers.kafka(), "conflicts: [{match: \"*\", policy: report}]\n", "A", "B", "C")) {
            RedisClusterServers cluster = RedisClusterServers.start(TestServers.redis70(), dir.resolve("B"), 3);
            servers.put("B", cluster);
            try (ClusterInstances redis = new ClusterInstances(mesh, servers)) {
                Path meshFile = ClusterInstances.meshFile(mesh, servers, dir);
                mesh.agentsUse(meshFile);
                ClusterInstances.startAndSeed(mesh, redis, List.of("A", "B"));
                // a slot of B whose master is copied after the master of slot 0, which takes it
                int to = cluster.ownerOf(0);
                int t = 0;
                while (cluster.ownerOf(HashSlot.of(("m" + t).getBytes(StandardCharsets.UTF_8))) == to) {
                    t++;
                }
                String tag = "m" + t;
                int slot = HashSlot.of(tag.getBytes(StandardCharsets.UTF_8));
                int from = cluster.ownerOf(slot);
                Map<String, String> moving = new HashMap<>();
                for (int i = 0; i < MOVING_KEYS; i++) {
                    moving.put("moving:{" + tag + "}:" + i, "v" + i);
                }
                redis.mset("B", moving);
                Await.until(MeshUnderTest.CONVERGE, "A applied B's keys of slot " + slot,
                        () -> ("v" + (MOVING_KEYS - 1)).equals(redis.get("A", "moving:{" + tag + "}:" + (MOVING_KEYS - 1))));

                List<CounterLoad> loads = List.of(redis.load("A", 6_000, 10, Duration.ofSeconds(8)).start(),
                        redis.load("B", 6_000, 10, Duration.ofSeconds(8)).start());
                cluster.beginSlotMove(slot, from, to);
                AtomicInteger moved = new AtomicInteger();
                AtomicBoolean stop = new AtomicBoolean();
                int toPort = cluster.node(to).port();
                CompletableFuture<Void> mover = CompletableFuture.runAsync(() -> {
                    RedisClient client = RedisClient.create(cluster.node(from).uri());
                    try (StatefulRedisConnection<String, String> connection = client.connect()) {
                        List<String> keys;
                        while (!stop.get() && !(keys = connection.sync().clusterGetKeysInSlot(slot, 5)).isEmpty()) {
                            connection.sync().migrate("127.0.0.1", toPort, 0, 5000, MigrateArgs.Builder.keys(keys));
                            moved.addAndGet(keys.size());
                            Thread.sleep(10); // a few keys at a time: the move lasts longer than the join's copy
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } finally {
                        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
                    }
                });
                Await.until(Duration.ofSeconds(10), "the first keys of slot " + slot + " moved", () -> moved.get() > 0);
                int movedBefore = moved.get();
                assertTrue(loads.stream().noneMatch(CounterLoad::isDone), "A and B are writing when the join starts");
                FerryRun join = FerryRun.of("join", "-c", meshFile.toString(), "-i", mesh.id("C"), "--from", mesh.id("B"));
                int movedAfter = moved.get();
                stop.set(true);
                mover.join();
                System.out.printf("keys of slot %d moved from master %d to %d: %d before the join, %d during it, %d after%n",
                        slot, from, to, movedBefore, movedAfter - movedBefore, MOVING_KEYS - movedAfter);
                assertTrue(movedAfter > movedBefore && movedAfter < MOVING_KEYS,
                        "keys of the slot moved during the join and the slot was still half migrated when it ended");
                cluster.moveSlot(slot, from, to); // the rest of its keys, then every node learns the new owner
                cluster.awaitStable(Duration.ofSeconds(30));
                if (join.exitCode() != 0) {
                    assertEquals(7, join.exitCode(), join.toString());
                    assertTrue(join.err().contains("--replace-data") && join.err().contains("no slot moves"),
                            "the refusal says what to do: " + join.err());
                    FerryRun again = FerryRun.of("join", "-c", meshFile.toString(), "-i", mesh.id("C"), "--from", mesh.id("B"), "--replace-data");
                    assertEquals(0, again.exitCode(), again.toString());
                }
                mesh.startCapture("C");
                mesh.startApply("C");
                mesh.awaitReady("C", "capture");
                mesh.awaitReady("C", "apply");
                loads.forEach(CounterLoad::await);
                for (String on : NAMES) {
                    Await.until(MeshUnderTest.CONVERGE, "every load applied on " + on, () -> loads.stream().allMatch(l -> redis.applied(l, on)));
                    loads.forEach(l -> redis.assertExact(l, on));
                }
                Await.until(MeshUnderTest.CONVERGE, "three identical keyspaces", () -> redis.identical(NAMES));
                assertEquals("v0", redis.get("C", "moving:{" + tag + "}:0"), "C has the moved slot's keys");
                for (String name : NAMES) {
                    assertEquals(0.0, mesh.metric(name, "apply", "ferry_apply_dead_letters_total"), name + "'s dead letters");
                }
                System.out.printf("join while a slot moves: %s, test took %d s%n", join.exitCode() == 0 ? "joined at once" : "refused, then joined",
                        (System.nanoTime() - began) / 1_000_000_000L);
            } catch (Exception | AssertionError e) {
                mesh.keepLogs("failed: " + e.getMessage());
                throw e;
            }
        } finally {
            servers.values().forEach(RedisClusterServers::close);
        }
    }

    private static final int MOVING_KEYS = 6_000;
}
