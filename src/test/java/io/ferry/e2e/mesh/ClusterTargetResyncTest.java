package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisClusterServers;
import io.ferry.localmesh.TestServers;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.ReplicationPolicy;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A full resync of a standalone instance A reconciled on a peer B whose Redis is a 3-master Redis Cluster: B ends
 * with A's state for what A wrote (keys A changed in its gap replaced, keys A deleted deleted on every master) and
 * keeps its own writes A had not applied (guarded), slot by slot; afterwards both keyspaces are identical and the
 * INCR/RPUSH oracles exact. A's apply agent is down during the gap, so B's gap writes are unseen by A's copy.
 *
 * <p>Issue 13: in the middle of B's reconciliation, a slot holding keys the snapshot replaces and deletes moves to another
 * master of B (half migrated for a while, so B's transactions meet ASK and TRYAGAIN), and then B's apply agent is killed
 * -9 and started again; the restarted agent finishes the reconciliation with the end state a quiet one has. (One flow
 * with both faults rather than a quiet run and a faulty one: measured on a shared 2-core machine, the quiet flow took
 * about 55 s and this one about 70 s; a second flow would add the whole.)
 */
class ClusterTargetResyncTest {

    private static final int KEYS = 60;
    private static final int REVIVED = 10;
    /** Keys of A's snapshot in one slot (hash tag {m}), the slot moved during the reconciliation: a third changed, a third deleted in A's gap. */
    private static final int MOVED_SLOT_KEYS = 300;
    /** More keys of A's snapshot spread over every slot (same thirds), so that the reconciliation lasts long enough to be hit. */
    private static final int BULK_KEYS = 3_000;

    @Test
    void aStandalonePeersFullResyncIsReconciledOnAClusterInstanceThroughASlotMoveAndAKilledApplyAgent() throws Exception {
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
                List<String> bulkKeys = bulkKeys();
                for (int from = 0; from < bulkKeys.size(); from += 1000) {
                    Map<String, String> values = new HashMap<>();
                    bulkKeys.subList(from, Math.min(bulkKeys.size(), from + 1000)).forEach(key -> values.put(key, "old"));
                    a.mset(values);
                }
                String lastBulk = bulkKeys.get(bulkKeys.size() - 1);
                Await.until(MeshUnderTest.CONVERGE, "A's keys on every master of B", () -> "a-before".equals(b.get("both:" + (KEYS - 1)))
                        && "old".equals(b.get(lastBulk)) && identical(a, masters)); // the whole comparison once the last keys arrived

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
                for (int from = 0; from < bulkKeys.size(); from += 999) {
                    Map<String, String> changed = new HashMap<>();
                    List<String> deleted = new ArrayList<>();
                    for (int i = from; i < Math.min(bulkKeys.size(), from + 999); i += 3) {
                        changed.put(bulkKeys.get(i), "new"); // replaced on B
                        if (i + 1 < bulkKeys.size()) {
                            deleted.add(bulkKeys.get(i + 1)); // deleted on B at SNAPSHOT_END
                        }
                    }
                    a.mset(changed);
                    a.del(deleted.toArray(String[]::new));
                }
                FullResyncTest.overflowBacklog(a);
                System.out.printf("gap written after %d ms%n", (System.nanoTime() - began) / 1_000_000);
                FullResyncTest.restartCaptureWithFullResync(mesh, "A");
                moveASlotThenKillApply(mesh, cluster, masters, b);

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
                for (int i = 0; i < bulkKeys.size(); i++) {
                    assertEquals(i % 3 == 0 ? "new" : i % 3 == 1 ? null : "old", b.get(bulkKeys.get(i)), bulkKeys.get(i) + " on B");
                }
                double deleted = mesh.metric("B", "apply", "ferry_apply_resync_keys_total", "action=\"deleted\"");
                double guarded = mesh.metric("B", "apply", "ferry_apply_resync_keys_total", "action=\"guarded\"");
                System.out.printf("B: %.0f keys deleted, %.0f guarded by writes A had not applied%n", deleted, guarded);
                // deletions all happen at SNAPSHOT_END, in the restarted agent; keys kept before the kill were counted by the killed one
                assertTrue(deleted >= KEYS - REVIVED + bulkKeys.size() / 3, "B deleted " + deleted);
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
                for (String name : List.of("A", "B")) { // the topic, not the meter: the killed agent's meters are gone
                    assertEquals(List.of(), mesh.records(ReplicationPolicy.deadLetterTopic(mesh.id(name))), name + "'s dead letters");
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

    /** {@link #MOVED_SLOT_KEYS} keys in the slot of hash tag {m}, then {@link #BULK_KEYS} anywhere. */
    private static List<String> bulkKeys() {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < MOVED_SLOT_KEYS; i++) {
            keys.add("a:bulk:{m}:" + i);
        }
        for (int i = 0; i < BULK_KEYS; i++) {
            keys.add("a:bulk:" + i);
        }
        return keys;
    }

    /**
     * Once B's reconciliation has begun (its slots' sets of snapshot keys exist, the set of {m}'s slot too) and before
     * it ends, moves the slot of {m} to another master (half migrated for a while, its keys and its set moved a few at a time), then kills B's
     * apply agent (-9) once it has applied more of the snapshot, and starts it again. Each fault is checked to have
     * landed inside the reconciliation: the sets are still there afterwards (SNAPSHOT_END deletes them) and the agent
     * had not counted it reconciled.
     */
    private static void moveASlotThenKillApply(MeshUnderTest mesh, RedisClusterServers cluster,
                                               List<RedisCommands<String, String>> masters, RedisAdvancedClusterCommands<String, String> b)
            throws Exception {
        String checkpoint = new String(ReplicationPolicy.checkpointKey(mesh.id("A"), 0), StandardCharsets.UTF_8);
        Await.until(MeshUnderTest.CONVERGE, "B's reconciliation of A's snapshot begun (sets of snapshot keys on B's masters)",
                () -> resyncSets(masters) > 0);
        assertTrue(inReconciliation(mesh, masters), "the slot move starts inside the reconciliation");
        int slot = HashSlot.of("{m}".getBytes(StandardCharsets.UTF_8));
        int from = cluster.ownerOf(slot);
        int to = (from + 1) % 3;
        String slotSet = "__ferry:resync:{" + HashSlot.tag(slot) + "}:" + mesh.id("A") + ":0";
        // the slot moves with some of its keys recorded as brought by the snapshot and others still to come
        Await.until(MeshUnderTest.CONVERGE, "some keys of slot " + slot + " brought by the snapshot", () -> masters.get(from).scard(slotSet) > 0);
        System.out.printf("moving slot %d (%d keys, %d of them recorded as brought by the snapshot) from master %d to %d; %d slots'"
                        + " sets on B, B applied A up to %s%n", slot, masters.get(from).clusterCountKeysInSlot(slot),
                masters.get(from).scard(slotSet), from, to, resyncSets(masters), b.get(checkpoint));
        cluster.beginSlotMove(slot, from, to);
        List<String> keys;
        while (!(keys = masters.get(from).clusterGetKeysInSlot(slot, 40)).isEmpty()) {
            cluster.migrateKeys(from, to, keys);
            Thread.sleep(100); // the slot stays half migrated a while: B's transactions on it meet ASK and TRYAGAIN
        }
        cluster.finishSlotMove(slot, to);
        cluster.awaitStable(Duration.ofSeconds(30));
        assertTrue(inReconciliation(mesh, masters), "the slot move ended inside the reconciliation");
        String applied = b.get(checkpoint);
        System.out.printf("slot %d moved (its set: %d members); B applied A up to %s%n", slot, masters.get(to).scard(slotSet), applied);

        Await.until(MeshUnderTest.CONVERGE, "more of the snapshot applied on B since the move", () -> !applied.equals(b.get(checkpoint)));
        assertTrue(inReconciliation(mesh, masters), "the kill lands inside the reconciliation");
        mesh.apply("B").kill();
        int sets = resyncSets(masters);
        assertTrue(sets > 0, "B's apply agent was killed before SNAPSHOT_END (which deletes every set)");
        System.out.printf("B's apply agent killed with %d slots' sets on B, having applied A up to %s%n", sets, b.get(checkpoint));
        mesh.startApply("B");
        mesh.awaitReady("B", "apply");
    }

    /** B's agent has not counted the reconciliation done, and the sets of snapshot keys it writes until SNAPSHOT_END are there. */
    private static boolean inReconciliation(MeshUnderTest mesh, List<RedisCommands<String, String>> masters) {
        return mesh.metric("B", "apply", "ferry_apply_resyncs_total", "outcome=\"reconciled\"") == 0.0
                && mesh.metric("B", "apply", "ferry_apply_resyncs_total", "outcome=\"conservative\"") == 0.0
                && resyncSets(masters) > 0;
    }

    /** How many slots' sets of snapshot keys B's masters hold. */
    private static int resyncSets(List<RedisCommands<String, String>> masters) {
        return masters.stream().mapToInt(master -> master.keys("__ferry:resync:*").size()).sum();
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
