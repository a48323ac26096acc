package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisClusterServers;
import io.ferry.localmesh.TestServers;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A full resync of a standalone instance A reconciled on a peer B whose Redis is a 3-master Redis Cluster: B ends
 * with A's state for what A wrote (keys A changed in its gap replaced, keys A deleted deleted on every master) and
 * keeps its own writes A had not applied (guarded), slot by slot; afterwards both keyspaces are identical and the
 * INCR/RPUSH oracles exact. A's apply agent is down during the gap, so B's gap writes are unseen by A's copy.
 */
class ClusterTargetResyncTest {

    private static final int KEYS = 60;
    private static final int REVIVED = 10;

    @Test
    void aStandalonePeersFullResyncIsReconciledOnAClusterInstance() throws Exception {
        long began = System.nanoTime();
        Path dir = TestServers.tempDir("cluster-resync");
        try (MeshUnderTest mesh = MeshUnderTest.servers(TestServers.kafka(), "conflicts: [{match: \"*\", policy: report}]\n", "A", "B");
             RedisClusterServers cluster = RedisClusterServers.start(TestServers.redis70(), dir, 3)) {
            mesh.agentsUse(mesh.meshFileWithCluster("B", cluster, ""));
            mesh.startAgents();
            RedisClusterClient clusterClient = RedisClusterClient.create(RedisURI.create("127.0.0.1", cluster.node(0).port()));
            List<RedisClient> masterClients = new ArrayList<>();
            List<RedisCommands<String, String>> masters = new ArrayList<>();
            for (int node = 0; node < 3; node++) {
                RedisClient client = RedisClient.create(cluster.node(node).uri());
                masterClients.add(client);
                masters.add(client.connect().sync());
            }
            try (StatefulRedisClusterConnection<String, String> connection = clusterClient.connect()) {
                RedisAdvancedClusterCommands<String, String> b = connection.sync();
                RedisCommands<String, String> a = mesh.redis("A");
                FullResyncTest.smallestBacklog(a);
                for (int i = 0; i < KEYS; i++) {
                    a.set("a:change:" + i, "old");
                    a.set("a:gone:" + i, "v");
                    a.set("a:keep:" + i, "v");
                    a.set("both:" + i, "a-before");
                }
                a.rpush("a:list", "1", "2");
                Await.until(MeshUnderTest.CONVERGE, "A's keys on every master of B",
                        () -> "a-before".equals(b.get("both:" + (KEYS - 1))) && identical(a, masters));

                // A's load runs before, during and after the gap; B's while A's snapshot arrives
                CounterLoad onA = new CounterLoad(mesh, "A", 12_000, 10, Duration.ofSeconds(12)).start();
                Thread.sleep(1_500);
                mesh.apply("A").kill(); // from now on B's writes are unseen by A's copy: they guard their keys on B
                mesh.capture("A").kill();
                CounterLoad onB = new CounterLoad(mesh, "B", 10_000, 10, Duration.ofSeconds(10)).onCluster(cluster.node(0).port()).start();
                for (int i = 0; i < KEYS; i++) {
                    a.set("a:change:" + i, "new" + i);
                    a.del("a:gone:" + i);
                    a.set("a:new:" + i, "n");
                    a.set("both:" + i, "a-gap");
                    b.set("both:" + i, "b-gap");
                    b.set("b:gap:" + i, "b");
                }
                for (int i = 0; i < REVIVED; i++) {
                    b.set("a:gone:" + i, "b-revived"); // written on B in A's gap: kept, and A gets it back
                }
                a.del("a:list");
                a.rpush("a:list", "only");
                FullResyncTest.overflowBacklog(a);
                System.out.printf("gap written after %d ms%n", (System.nanoTime() - began) / 1_000_000);
                FullResyncTest.restartCaptureWithFullResync(mesh, "A");

                Await.until(MeshUnderTest.CONVERGE, "B reconciled A's resync snapshot",
                        () -> mesh.metric("B", "apply", "ferry_apply_resyncs_total", "outcome=\"reconciled\"") == 1.0);
                System.out.printf("B reconciled A's resync snapshot after %d ms%n", (System.nanoTime() - began) / 1_000_000);
                for (int i = 0; i < KEYS; i++) {
                    assertEquals(i < REVIVED ? "b-revived" : null, b.get("a:gone:" + i), "a:gone:" + i + " on B");
                    assertEquals("new" + i, b.get("a:change:" + i), "a:change:" + i + " on B");
                    assertEquals("b-gap", b.get("both:" + i), "both:" + i + " on B: B's write A had not applied");
                    assertEquals("b", b.get("b:gap:" + i), "b:gap:" + i + " on B");
                }
                assertEquals(List.of("only"), b.lrange("a:list", 0, -1));
                double deleted = mesh.metric("B", "apply", "ferry_apply_resync_keys_total", "action=\"deleted\"");
                double guarded = mesh.metric("B", "apply", "ferry_apply_resync_keys_total", "action=\"guarded\"");
                System.out.printf("B: %.0f keys deleted, %.0f guarded by writes A had not applied%n", deleted, guarded);
                assertTrue(deleted >= KEYS - REVIVED, "B deleted " + deleted);
                assertTrue(guarded >= KEYS, "B kept the keys it wrote in A's gap: " + guarded);
                for (RedisCommands<String, String> master : masters) {
                    assertEquals(List.of(), master.keys("__ferry:resync:*"), "every slot's set of snapshot keys is gone");
                }

                mesh.startApply("A");
                mesh.awaitReady("A", "apply");
                onA.await();
                onB.await();
                Await.until(MeshUnderTest.CONVERGE, "both loads applied on both instances and the keyspaces identical",
                        () -> onA.appliedOn("A") && onB.appliedOn("A") && onA.appliedOn(b) && onB.appliedOn(b) && identical(a, masters));
                System.out.printf("converged after %d ms%n", (System.nanoTime() - began) / 1_000_000);
                onA.assertAppliedExactlyOnceOn("A");
                onB.assertAppliedExactlyOnceOn("A");
                onA.assertAppliedExactlyOnceOn("B", b);
                onB.assertAppliedExactlyOnceOn("B", b);
                for (int i = 0; i < KEYS; i++) {
                    assertEquals(i < REVIVED ? "b-revived" : null, a.get("a:gone:" + i), "a:gone:" + i + " on A");
                    assertEquals("b-gap", a.get("both:" + i), "both:" + i + " on A");
                    assertEquals("v", a.get("a:keep:" + i), "a:keep:" + i + " on A");
                }
                for (String name : List.of("A", "B")) {
                    assertEquals(0.0, mesh.metric(name, "apply", "ferry_apply_dead_letters_total"), name + "'s dead letters");
                }
            } catch (Exception | AssertionError e) {
                mesh.keepLogs("failed: " + e.getMessage());
                throw e;
            } finally {
                clusterClient.shutdown(Duration.ZERO, Duration.ofSeconds(1));
                masterClients.forEach(c -> c.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
            }
            System.out.printf("cluster target resync test took %d s%n", (System.nanoTime() - began) / 1_000_000_000L);
        }
    }

    private static boolean identical(RedisCommands<String, String> standalone, List<RedisCommands<String, String>> masters) {
        Keyspace first = Keyspace.of(standalone);
        Keyspace theirs = Keyspace.ofMasters(masters);
        List<String> differences = first.differences(theirs, 1000);
        List<String> back = theirs.differences(first, 1000);
        if (!differences.isEmpty() || !back.isEmpty()) {
            System.out.println("A vs B: " + differences.stream().limit(5).toList() + " B vs A: " + back.stream().limit(5).toList());
            return false;
        }
        return true;
    }
}
