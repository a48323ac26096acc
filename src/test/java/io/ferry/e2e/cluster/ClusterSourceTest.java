package io.ferry.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ferry.e2e.mesh.FerryRun;
import io.ferry.localmesh.Await;
import io.ferry.resp.cluster.HashSlot;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A Redis Cluster as a capture source: each shard's stream in its own partition, resumed with PSYNC after
 * a kill -9 of the capture and after a shard's failover, arriving at a standalone peer exactly once and in
 * each key's order, also when the key's slot moves between shards.
 */
class ClusterSourceTest {

    private static final Duration CONVERGE = Duration.ofSeconds(90);

    @Test
    void writesOnEveryShardArriveExactlyOnceAtAStandalonePeerThroughAKillOfTheCapture() throws Exception {
        try (ClusterSourceMesh mesh = new ClusterSourceMesh(0)) {
            writeAround(mesh, oracle -> {
                mesh.killCapture();
                int atKill = oracle.written();
                Await.until(Duration.ofSeconds(60), "10k writes while the capture is down", () -> oracle.written() >= atKill + 10_000);
                mesh.startCapture();
            });
            String first = mesh.captureLogText(1);
            for (int partition = 0; partition < 3; partition++) {
                assertTrue(first.contains("into partition " + partition), "one partition per shard:\n" + first);
            }
            String second = mesh.captureLogText(2);
            assertEquals(3, count(second, "resumed with +CONTINUE"), "every shard resumed with PSYNC:\n" + second);
            assertFalse(second.contains("full resync from"), second);
            assertEquals(0, mesh.captureMetric("ferry_capture_full_resyncs_total"), "no shard needed a full resync");
            for (int partition = 0; partition < 3; partition++) {
                assertTrue(mesh.captureMetric("ferry_capture_position_offset", "partition=\"" + partition + "\"") > 0,
                        "partition " + partition + " has a committed position");
            }
            // status shows every shard's position, and the instance live (not judged against the seed node alone)
            FerryRun status = FerryRun.of("status", "-c", mesh.config().toString(), "-i", mesh.a, "--conflicts", "0");
            for (int partition = 0; partition < 3; partition++) {
                assertTrue(status.out().contains("capture  shard " + partition + " at"), status.toString());
            }
            assertTrue(status.out().contains("state    live") && !status.out().contains("Redis now has replid"), status.toString());
        }
    }

    @Test
    void aShardsFailoverDuringWritesContinuesWithPsyncAndLosesNothing() throws Exception {
        try (ClusterSourceMesh mesh = new ClusterSourceMesh(1)) {
            int replica = mesh.cluster.replica(1, 0);
            writeAround(mesh, oracle -> mesh.cluster.failover(replica, Duration.ofSeconds(30)));
            String log = mesh.captureLogText(1);
            String promoted = "127.0.0.1:" + mesh.cluster.node(replica).port();
            assertTrue(log.contains("has a new master " + promoted), log);
            assertTrue(log.contains("resumed with +CONTINUE from " + "redis://" + promoted), "PSYNC continued on the promoted replica:\n" + log);
            assertFalse(log.contains("full resync from"), log);
            assertEquals(3, mesh.captureMetric("ferry_capture_full_resyncs_total"), "only each shard's first snapshot");
        }
    }

    @Test
    void movingSlotsBetweenShardsDuringWritesPublishesNoMigrationAndLosesNothing() throws Exception {
        try (ClusterSourceMesh mesh = new ClusterSourceMesh(0)) {
            List<Integer> fromFirst = Oracle.slotsWithKeys(0, 16384 / 3 - 1, 8);
            List<Integer> fromLast = Oracle.slotsWithKeys(2 * 16384 / 3, 16383, 8);
            writeAround(mesh, oracle -> {
                for (int i = 0; i < fromFirst.size(); i++) {
                    mesh.cluster.moveSlot(fromFirst.get(i), 0, 1);
                    mesh.cluster.moveSlot(fromLast.get(i), 2, 0);
                }
            });
            assertTrue(mesh.captureMetric("ferry_capture_filtered_commands_total", "command=\"RESTORE-ASKING\"",
                    "reason=\"slot migration\"") > 0, "the new owners' RESTORE-ASKINGs were recognised");
            assertTrue(mesh.captureMetric("ferry_capture_filtered_commands_total", "command=\"DEL\"",
                    "reason=\"slot migration\"") > 0, "the old owners' MIGRATE DELs were recognised");
        }
    }

    @Test
    void aShardAddedDuringWritesGetsItsOwnPartitionAndSlotsMovedToItLoseNothing() throws Exception {
        try (ClusterSourceMesh mesh = new ClusterSourceMesh(0)) {
            List<Integer> moved = Oracle.slotsWithKeys(0, 16384 / 3 - 1, 6);
            Oracle written = writeAround(mesh, oracle -> {
                int added = addShardCapturedIntoPartition3(mesh);
                for (int slot : moved) {
                    mesh.cluster.moveSlot(slot, 0, added);
                }
            });
            assertTrue(mesh.captureMetric("ferry_capture_position_offset", "partition=\"3\"") > 0,
                    "the new shard's partition has a committed position");
            assertTrue(mesh.captureMetric("ferry_capture_filtered_commands_total", "command=\"DEL\"",
                    "reason=\"slot migration\"") > 0, "the old owner's MIGRATE DELs were recognised");
        }
    }

    @Test
    void aShardRemovedDuringWritesHasItsPartitionRetiredAndLosesNothing() throws Exception {
        try (ClusterSourceMesh mesh = new ClusterSourceMesh(0)) {
            List<Integer> moved = Oracle.slotsWithKeys(0, 16384 / 3 - 1, 6);
            Oracle written = writeAround(mesh, oracle -> {
                int added = addShardCapturedIntoPartition3(mesh);
                moved.forEach(slot -> mesh.cluster.moveSlot(slot, 0, added));
                moved.forEach(slot -> mesh.cluster.moveSlot(slot, added, 0));
                mesh.cluster.removeNode(added); // as redis-cli --cluster del-node, once its slots are gone
                Await.until(Duration.ofSeconds(30), "partition 3 retired", () -> mesh.captureLogText(1)
                        .matches("(?s).*partition 3 of " + mesh.a + " .*the partition is retired.*"));
            });
            Await.until(Duration.ofSeconds(20), "B's lag on A at 0", () -> mesh.applyMetric("ferry_apply_lag_seconds") == 0);
            FerryRun status = FerryRun.of("status", "-c", mesh.config().toString(), "-i", mesh.a, "--conflicts", "0");
            assertTrue(status.out().contains("capture  shard 3 retired at"), status.toString());

            // B rebuilt from A, whose topic now has a retired partition: the copy holds its writes, so the join
            // counts it as applied to its end (applied again, its INCRs and RPUSHes would show twice)
            mesh.killApply();
            FerryRun join = FerryRun.of("join", "-c", mesh.config().toString(), "-i", mesh.b, "--from", mesh.a, "--replace-data");
            assertEquals(0, join.exitCode(), join.toString());
            assertTrue(join.out().contains("checkpoint " + mesh.a + ":3 = "), join.toString());
            mesh.startApply();
            String after = java.util.stream.IntStream.iterate(0, n -> n + 1).mapToObj(n -> "after-join-" + n)
                    .filter(k -> HashSlot.of(k.getBytes(StandardCharsets.UTF_8)) < 16384 / 3 && !moved.contains(HashSlot.of(k.getBytes(StandardCharsets.UTF_8))))
                    .findFirst().orElseThrow(); // a slot of node 0, which kept its slots
            mesh.cluster.admin(0, redis -> redis.set(after, "1"));
            mesh.awaitTargetHolds(written, CONVERGE);
            Await.until(CONVERGE, "a write after the join on B", () -> "1".equals(mesh.targetGet(after)));
        }
    }

    @Test
    void slotsMovedIntoANewShardBeforeItsCaptureConnectsLoseNothing() throws Exception {
        // the capture is paused while a master joins and two slots move into it: their keys' RESTORE-ASKING is in the
        // new shard's first snapshot, not its stream, and the Oracle's writes to them there before its PSYNC only in
        // the keys' values; the old shard's DELs must not be published as users' DELs, and peers must take those values
        try (ClusterSourceMesh mesh = new ClusterSourceMesh(0)) {
            List<Integer> moved = Oracle.slotsWithKeys(0, 16384 / 3 - 1, 4);
            writeAround(mesh, oracle -> {
                signal("STOP", mesh.capturePid());
                int[] added = new int[1];
                try {
                    added[0] = mesh.cluster.addMaster();
                    mesh.cluster.moveSlot(moved.get(0), 0, added[0]);
                    mesh.cluster.moveSlot(moved.get(1), 0, added[0]);
                    int atMove = oracle.written();
                    Await.until(Duration.ofSeconds(60), "writes to the moved keys on the new shard", () -> oracle.written() >= atMove + 3_000);
                } finally {
                    signal("CONT", mesh.capturePid());
                }
                Await.until(Duration.ofSeconds(30), "the capture of the new shard", () -> mesh.captureLogText(1).contains("into partition 3"));
                moved.subList(2, moved.size()).forEach(slot -> mesh.cluster.moveSlot(slot, 0, added[0]));
            });
            assertTrue(mesh.captureMetric("ferry_capture_filtered_commands_total", "command=\"DEL\"",
                    "reason=\"slot migration\"") >= 4, "the old owner's MIGRATE DELs were recognised, those of keys in the snapshot too");
        }
    }

    @Test
    void aNodeAddedAsAMasterThenMadeAReplicaIsNotCapturedTwice() throws Exception {
        // what redis-cli --cluster add-node --cluster-slave does: the node joins as a master without slots
        // (the capture gives it a partition), then becomes a replica of a master another partition carries
        try (ClusterSourceMesh mesh = new ClusterSourceMesh(0)) {
            writeAround(mesh, oracle -> {
                int added = addShardCapturedIntoPartition3(mesh);
                String masterId = mesh.cluster.nodeId(0);
                mesh.cluster.admin(added, redis -> redis.clusterReplicate(masterId));
                Await.until(Duration.ofSeconds(30), "partition 3 retired",
                        () -> mesh.captureLogText(1).contains("partition 3 of " + mesh.a + " was captured from node(s)"));
            });
            // 30 s was passed once at load 20 (the status already showed the shard retired)
            Await.until(Duration.ofSeconds(60), "partition 3 marked retired", () -> mesh.captureLogText(1)
                    .contains("partition 3 of " + mesh.a + " is retired: its last record says so"));
            String log = mesh.captureLogText(1);
            assertFalse(log.contains("shard of partition 3 of " + mesh.a + " has a new master"), log);
            assertEquals(1, count(log, "capturing it into partition 3"), "partition 3 is captured once, never again:\n" + log);
            // the retired partition's last record told B: B's lag on A does not grow from its last heartbeat
            Await.until(Duration.ofSeconds(20), "B's lag on A at 0", () -> mesh.applyMetric("ferry_apply_lag_seconds") == 0);
            String metrics = mesh.captureMetrics();
            assertFalse(metrics.contains("partition=\"3\""), "the retired partition's meters are gone:\n" + metrics);
            assertTrue(mesh.captureMetric("ferry_capture_position_offset", "partition=\"0\"") > 0);
            FerryRun status = FerryRun.of("status", "-c", mesh.config().toString(), "-i", mesh.a, "--conflicts", "0");
            // shown as retired if it had committed a position before the node became a replica
            if (status.out().contains("capture  shard 3 at")) {
                FerryRun records = FerryRun.of("inspect", "-c", mesh.config().toString(), "--partition", "3",
                        "--from-beginning", mesh.a + ":changes");
                fail("partition 3 is not shown as retired\n" + status + "\npartition 3 of the changes topic:\n" + records
                        + "\ncapture log:\n" + mesh.captureLogText(1));
            }
            assertTrue(status.out().contains("capture  shard 0 at"), status.toString());
        }
    }

    @Test
    void aPeerBehindOnTheOldOwnersPartitionAppliesAMovedKeysWritesInTheirOrder() throws Exception {
        // B's apply starts only after the writes, with far more of shard 0's partition to apply than of shard 1's:
        // the moved keys' writes made on shard 1 come within B's reach long before their earlier writes on shard 0
        try (ClusterSourceMesh mesh = new ClusterSourceMesh(0)) {
            List<Integer> moved = Oracle.slotsWithKeys(0, 16384 / 3 - 1, 8);
            List<Integer> movedBack = moved.subList(0, 3);
            mesh.startCapture();
            try (Oracle oracle = new Oracle(mesh.cluster.node(0).port())) {
                Await.until(Duration.ofSeconds(60), "5k writes", () -> oracle.written() >= 5_000);
                writeOneRecordEach(mesh, 0, moved, 15_000);
                moved.forEach(slot -> mesh.cluster.moveSlot(slot, 0, 1));
                int atMove = oracle.written();
                Await.until(Duration.ofSeconds(60), "2k writes after the move", () -> oracle.written() >= atMove + 2_000);
                movedBack.forEach(slot -> mesh.cluster.moveSlot(slot, 1, 0));
                oracle.writeMoreThenStop(5_000);
                oracle.awaitDone(Duration.ofSeconds(120));
                mesh.startApply();
                mesh.awaitTargetHolds(oracle, CONVERGE);
            }
            assertTrue(mesh.applyMetric("ferry_apply_causal_waits_total") > 0,
                    "B held shard 1's records until shard 0's partition had the moved keys' earlier writes");
        }
    }

    /**
     * Runs A's capture and B's apply, writes to every shard, makes {@code change} after 5k writes (writes go on) and
     * 10k more after it, and waits until B holds exactly what was written, every list in order.
     */
    private static Oracle writeAround(ClusterSourceMesh mesh, Consumer<Oracle> change) throws InterruptedException {
        mesh.startCapture();
        mesh.startApply();
        try (Oracle oracle = new Oracle(mesh.cluster.node(0).port())) {
            Await.until(Duration.ofSeconds(60), "5k writes", () -> oracle.written() >= 5_000);
            change.accept(oracle);
            oracle.writeMoreThenStop(10_000);
            oracle.awaitDone(Duration.ofSeconds(120));
            mesh.awaitTargetHolds(oracle, CONVERGE);
            return oracle;
        }
    }

    /** {@code count} SETs (one record each) on node {@code node}, all to keys of one of its slots not in {@code avoid}. */
    private static void writeOneRecordEach(ClusterSourceMesh mesh, int node, List<Integer> avoid, int count) {
        String tag = java.util.stream.IntStream.iterate(0, n -> n + 1).mapToObj(n -> "filler-" + n)
                .filter(t -> HashSlot.of(t.getBytes(StandardCharsets.UTF_8)) < 16384 / 3
                        && !avoid.contains(HashSlot.of(t.getBytes(StandardCharsets.UTF_8))))
                .findFirst().orElseThrow();
        mesh.cluster.admin(node, redis -> {
            for (int i = 0; i < count; i++) {
                redis.set("{" + tag + "}:" + i, "x");
            }
            return null;
        });
    }

    /** Adds a master without slots and waits until the capture gives it partition 3; returns its node index. */
    private static int addShardCapturedIntoPartition3(ClusterSourceMesh mesh) {
        int added = mesh.cluster.addMaster();
        Await.until(Duration.ofSeconds(30), "the capture of the new shard", () -> mesh.captureLogText(1).contains("into partition 3"));
        return added;
    }

    private static void signal(String name, long pid) {
        try {
            new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start().waitFor();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static int count(String text, String what) {
        Matcher m = Pattern.compile(Pattern.quote(what)).matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }
}
