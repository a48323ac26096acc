package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisClusterServers;
import io.ferry.localmesh.TestServers;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code ferry leave} with a Redis Cluster instance among those that remain: its per-slot checkpoints go too. */
class ClusterLeaveTest {

    @Test
    void leavingDeletesTheLeaversCheckpointsOnEveryMasterOfAClusterInstance() throws Exception {
        Path dir = TestServers.tempDir("cluster-leave");
        try (MeshUnderTest mesh = MeshUnderTest.servers(TestServers.kafka(), "conflicts: [{match: \"*\", policy: report}]\n", "A", "B", "C");
             RedisClusterServers cluster = RedisClusterServers.start(TestServers.redis70(), dir, 3)) {
            Path withCluster = mesh.meshFileWithCluster("B", cluster, "");
            mesh.agentsUse(withCluster);
            mesh.startCapture("C");
            mesh.startApply("B");
            mesh.awaitReady("C", "capture");
            mesh.awaitReady("B", "apply");
            for (int i = 0; i < 60; i++) { // keys on every master of B
                mesh.redis("C").set("left:" + i, Integer.toString(i));
            }
            RedisClusterClient client = RedisClusterClient.create(RedisURI.create("127.0.0.1", cluster.node(0).port()));
            try (var connection = client.connect()) {
                Await.equal(MeshUnderTest.CONVERGE, "C's last key on B", "59", () -> connection.sync().get("left:59"));
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }
            String id = mesh.id("C");
            List<String> before = checkpointsOf(cluster, id);
            assertTrue(before.stream().filter(k -> k.startsWith("__ferry:ckpt:{")).count() >= 10,
                    "per-slot checkpoints of C on B's masters: " + before);

            mesh.capture("C").stop();
            Path without = mesh.meshFileWithout(withCluster, "C");
            mesh.apply("B").stop();
            mesh.startApply("B", without);
            mesh.awaitReady("B", "apply");
            FerryRun leave = FerryRun.of("leave", "-c", without.toString(), "-i", id);
            assertEquals(0, leave.exitCode(), leave.toString());
            assertEquals(List.of(), checkpointsOf(cluster, id), "C's checkpoints left on B's masters");
        }
    }

    /** Every checkpoint key of {@code origin} on the cluster's nodes (the whole partition's and each slot's). */
    private static List<String> checkpointsOf(RedisClusterServers cluster, String origin) {
        List<String> keys = new ArrayList<>();
        for (int node = 0; node < 3; node++) {
            RedisClient client = RedisClient.create(cluster.node(node).uri());
            try (var connection = client.connect()) {
                keys.addAll(connection.sync().keys("__ferry:ckpt:" + origin + ":*"));
                keys.addAll(connection.sync().keys("__ferry:ckpt:{*}:" + origin + ":*"));
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }
        }
        return keys;
    }
}
