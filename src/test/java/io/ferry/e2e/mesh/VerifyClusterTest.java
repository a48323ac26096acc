package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisClusterServers;
import io.ferry.localmesh.TestServers;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.ReplicationPolicy;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code ferry verify} with a 3-master Redis Cluster as instance B and a standalone Redis as instance A,
 * every agent running: keys written on every shard compare equal (one of them read through ASK while its
 * slot migrates); keys changed behind Ferry's back on one shard of the cluster, and on the standalone, are
 * named and nothing else; {@code --repair} republishes on the master of each key's slot where the cluster
 * wins, and on A where A wins, and then every key is equal.
 */
class VerifyClusterTest {

    /** Not a member of the mesh: a block writing its checkpoint looks like an apply agent's, so the capture does not publish it. */
    private static final String NOBODY = "nobody-peer";
    private static final int KEYS = 30;

    @Test
    void aClusterInstanceIsScannedOnEveryMasterItsDivergedKeysNamedAndRepairedOnTheirSlotsMaster() throws Exception {
        long began = System.nanoTime();
        Path dir = TestServers.tempDir("verify-cluster");
        try (MeshUnderTest mesh = MeshUnderTest.servers(TestServers.kafka(), null, "A", "B");
             RedisClusterServers cluster = RedisClusterServers.start(TestServers.redis70(), dir, 3)) {
            try {
                // the agents run from a file that only reports and verify --repair from one with priorities: which
                // copy wins comes from verify's file alone
                mesh.agentsUse(mesh.meshFileWithCluster("B", cluster, """
                        conflicts: [{match: "*", policy: report}]
                        """));
                verifyOnAMeshWithAClusterInstance(mesh, cluster, mesh.meshFileWithCluster("B", cluster, """
                        conflicts:
                          - {match: "c:*", policy: priority, order: [%s, %s]}
                          - {match: "*", policy: priority, order: [%s, %s]}
                        """.formatted(mesh.id("B"), mesh.id("A"), mesh.id("A"), mesh.id("B"))));
            } catch (AssertionError | RuntimeException e) {
                mesh.keepLogs("verify cluster test failed");
                throw e;
            }
            System.out.printf("verify cluster test took %d s%n", (System.nanoTime() - began) / 1_000_000_000L);
        }
    }

    private static void verifyOnAMeshWithAClusterInstance(MeshUnderTest mesh, RedisClusterServers cluster, Path file) {
        for (String name : List.of("A", "B")) {
            mesh.startCapture(name);
            mesh.startApply(name);
        }
        for (String name : List.of("A", "B")) {
            mesh.awaitReady(name, "capture");
            mesh.awaitReady(name, "apply");
        }
        io.lettuce.core.cluster.RedisClusterClient clusterClient = io.lettuce.core.cluster.RedisClusterClient.create(
                RedisURI.create("127.0.0.1", cluster.node(0).port()));
        try (StatefulRedisClusterConnection<String, String> connection = clusterClient.connect()) {
            RedisAdvancedClusterCommands<String, String> onB = connection.sync();
            RedisCommands<String, String> onA = mesh.redis("A");
            // two shards away from the seed node, so a scan of the seed alone would not see them
            String changed = keyOn(cluster, 1, "c:changed:");
            String deleted = keyOn(cluster, 1, "c:deleted:");
            String onlyOnB = keyOn(cluster, 2, "c:new:");
            String changedOnA = keyOn(cluster, 2, "a:changed:");
            for (int i = 0; i < KEYS; i++) {
                onA.set("fromA:" + i, "a" + i);
                onB.set("fromB:" + i, "b" + i);
            }
            onA.set(changed, "original");
            onA.set(deleted, "original");
            onB.set(changedOnA, "original");
            Await.until(MeshUnderTest.CONVERGE, "every key on both instances", () -> onB.get("fromA:" + (KEYS - 1)) != null
                    && onA.get("fromB:" + (KEYS - 1)) != null && onA.get(changedOnA) != null
                    && onB.get(changed) != null && onB.get(deleted) != null);
            for (int node = 0; node < 3; node++) {
                long keys = cluster.admin(node, RedisCommands::dbsize);
                assertTrue(keys > 5, "shard " + node + " holds keys: " + keys);
            }
            int userKeys = 2 * KEYS + 3;

            // one key read through ASK: its slot is migrating, the key already moved
            String migrating = keyOn(cluster, 1, "fromA:");
            int slot = HashSlot.of(utf8(migrating));
            cluster.beginSlotMove(slot, 1, 2);
            cluster.migrateKeys(1, 2, List.of(migrating));
            FerryRun equal = FerryRun.of("verify", "-c", file.toString());
            assertEquals(0, equal.exitCode(), equal.toString());
            assertTrue(equal.out().contains("verify: " + userKeys + " keys checked on " + mesh.id("A") + ", " + mesh.id("B")
                    + ", 0 diverged, 0 repaired"), equal.toString());
            List<String> rest;
        while (!(rest = cluster.admin(1, redis -> redis.clusterGetKeysInSlot(slot, 1000))).isEmpty()) {
            cluster.migrateKeys(1, 2, rest);
        }
        cluster.finishSlotMove(slot, 2);

            behindFerrysBackOnCluster(cluster, changed, redis -> redis.set(changed, "changed on B"));
            behindFerrysBackOnCluster(cluster, deleted, redis -> redis.del(deleted));
            behindFerrysBackOnCluster(cluster, onlyOnB, redis -> redis.set(onlyOnB, "only on B"));
            behindFerrysBackOnA(mesh, redis -> redis.set(changedOnA, "changed on A"));

            FerryRun diverged = FerryRun.of("verify", "-c", file.toString());
            assertEquals(1, diverged.exitCode(), diverged.toString());
            for (String key : List.of(changed, deleted, onlyOnB, changedOnA)) {
                assertTrue(diverged.out().contains("diverged \"" + key + "\" db 0: "), key + " is named:\n" + diverged);
            }
            assertTrue(diverged.out().contains("diverged \"" + deleted + "\" db 0: missing on " + mesh.id("B")), diverged.toString());
            assertTrue(diverged.out().contains("diverged \"" + onlyOnB + "\" db 0: missing on " + mesh.id("A")), diverged.toString());
            assertEquals(4L, count(diverged.out(), "diverged \""), "only the keys changed behind Ferry's back:\n" + diverged);
            assertTrue(diverged.out().contains(", 4 diverged, 0 repaired"), diverged.toString());

            FerryRun repair = FerryRun.of("verify", "-c", file.toString(), "--repair");
            assertEquals(0, repair.exitCode(), repair.toString());
            assertTrue(repair.out().contains("republished \"" + changed + "\" db 0 from " + mesh.id("B") + " (priority "),
                    repair.toString());
            assertTrue(repair.out().contains("republished \"" + changedOnA + "\" db 0 from " + mesh.id("A") + " (priority "),
                    repair.toString());
            assertTrue(repair.out().contains(", 4 diverged, 4 repaired"), repair.toString());
            for (RedisStrings redis : List.<RedisStrings>of(onA::get, onB::get)) {
                assertEquals("changed on B", redis.get(changed));
                assertNull(redis.get(deleted));
                assertEquals("only on B", redis.get(onlyOnB));
                assertEquals("changed on A", redis.get(changedOnA));
            }

            FerryRun again = FerryRun.of("verify", "-c", file.toString());
            assertEquals(0, again.exitCode(), again.toString());
            assertTrue(again.out().contains(", 0 diverged, 0 repaired"), again.toString());
            assertFalse(again.out().contains("MOVED") || again.out().contains("ASK "), again.toString());
        } finally {
            clusterClient.shutdown();
        }
    }

    private interface RedisStrings {
        String get(String key);
    }

    /** The servers' mesh file with B's Redis replaced by the cluster (seed: its first node) and {@code conflicts} added. */
    /** The first key {@code prefix<n>} whose slot node {@code node} serves. */
    private static String keyOn(RedisClusterServers cluster, int node, String prefix) {
        for (int n = 0; ; n++) {
            String key = prefix + n;
            if (cluster.ownerOf(HashSlot.of(utf8(key))) == node) {
                return key;
            }
        }
    }

    /**
     * Writes on the master of {@code key}'s slot so that Ferry does not carry it: in one MULTI with a
     * checkpoint (in the key's slot) of a peer that does not exist, which the capture takes for its own apply
     * agent's write and does not publish.
     */
    private static void behindFerrysBackOnCluster(RedisClusterServers cluster, String key, Consumer<RedisCommands<String, String>> write) {
        int slot = HashSlot.of(utf8(key));
        int owner = cluster.ownerOf(slot);
        String checkpoint = new String(ReplicationPolicy.slotCheckpointKey(NOBODY, 0, HashSlot.tag(slot)), StandardCharsets.UTF_8);
        behindFerrysBack(RedisClient.create(RedisURI.create("127.0.0.1", cluster.node(owner).port())), checkpoint, write);
    }

    private static void behindFerrysBackOnA(MeshUnderTest mesh, Consumer<RedisCommands<String, String>> write) {
        behindFerrysBack(mesh.newClient("A"), new String(ReplicationPolicy.checkpointKey(NOBODY, 0), StandardCharsets.UTF_8), write);
    }

    private static void behindFerrysBack(RedisClient client, String checkpoint, Consumer<RedisCommands<String, String>> write) {
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            RedisCommands<String, String> redis = connection.sync();
            redis.multi();
            write.accept(redis);
            redis.set(checkpoint, "1");
            assertFalse(redis.exec().wasDiscarded());
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    private static long count(String text, String part) {
        return Pattern.compile(Pattern.quote(part)).matcher(text).results().count();
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
