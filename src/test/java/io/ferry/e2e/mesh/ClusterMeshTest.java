package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisClusterServers;
import io.ferry.localmesh.TestServers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 13: a mesh of a standalone instance (A) and two 3-master Redis Clusters (B, C), every instance writing
 * INCR/RPUSH oracles on keys of every shard, through a kill -9 of B's apply agent and of C's capture in the middle
 * of the writes: afterwards every instance holds every write of every other exactly once, in order, and the three
 * keyspaces are identical.
 */
class ClusterMeshTest {

    private static final List<String> NAMES = List.of("A", "B", "C");

    @Test
    void aStandaloneInstanceAndTwoClustersConvergeThroughKillsOfAnApplyAgentAndACapture() throws Exception {
        Path dir = TestServers.tempDir("cluster-mesh");
        Map<String, RedisClusterServers> servers = new HashMap<>();
        try (MeshUnderTest mesh = MeshUnderTest.servers(TestServers.kafka(), "", "A", "B", "C")) {
            for (String name : List.of("B", "C")) {
                servers.put(name, RedisClusterServers.start(TestServers.redis70(), dir.resolve(name), 3));
            }
            try (ClusterInstances redis = new ClusterInstances(mesh, servers)) {
                mesh.agentsUse(ClusterInstances.meshFile(mesh, servers, dir));
                ClusterInstances.startAndSeed(mesh, redis, NAMES);

                List<CounterLoad> loads = new ArrayList<>();
                for (String name : NAMES) {
                    loads.add(redis.load(name, 12_000, 20, Duration.ofSeconds(12)).start());
                }
                Thread.sleep(3_000);
                mesh.apply("B").kill();
                mesh.startApply("B");
                Thread.sleep(2_000);
                mesh.capture("C").kill();
                mesh.startCapture("C");
                assertTrue(loads.stream().noneMatch(CounterLoad::isDone), "every instance wrote through both kills");
                loads.forEach(CounterLoad::await);

                for (String on : NAMES) {
                    Await.until(MeshUnderTest.CONVERGE, "every load applied on " + on, () -> loads.stream().allMatch(l -> redis.applied(l, on)));
                    loads.forEach(l -> redis.assertExact(l, on));
                }
                Await.until(MeshUnderTest.CONVERGE, "three identical keyspaces", () -> redis.identical(NAMES));
                for (String name : NAMES) {
                    assertEquals(0.0, mesh.metric(name, "apply", "ferry_apply_dead_letters_total"), name + "'s dead letters");
                }
                assertEquals(0.0, mesh.metric("C", "capture", "ferry_capture_full_resyncs_total"),
                        "C's capture, started again, continued every shard with PSYNC");
            } catch (Exception | AssertionError e) {
                mesh.keepLogs("failed: " + e.getMessage());
                throw e;
            }
        } finally {
            servers.values().forEach(RedisClusterServers::close);
        }
    }
}
