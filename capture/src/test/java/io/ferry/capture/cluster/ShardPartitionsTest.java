package io.ferry.capture.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.resp.cluster.NodeAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class ShardPartitionsTest {

    private static ClusterShards.Shard shard(int lowestSlot, String... ids) {
        return new ClusterShards.Shard(ids[0], new NodeAddress("127.0.0.1", 7000 + lowestSlot), new TreeSet<>(Set.of(ids)),
                lowestSlot, 100);
    }

    @Test
    void aFirstStartNumbersTheShardsByTheirLowestSlot() {
        ClusterShards.Shard a = shard(0, "a1", "a2");
        ClusterShards.Shard b = shard(5461, "b1");
        ClusterShards.Shard c = shard(10923, "c1", "c2");
        assertEquals(List.of(0, 1, 2), List.copyOf(ShardPartitions.assign(Map.of(), List.of(a, b, c)).values()));
    }

    @Test
    void aShardKeepsItsPartitionAfterAFailoverAndASlotMove() {
        // stored: partition 0 = {a1,a2}, 1 = {b1}, 2 = {c1,c2}; now a2 is master (failover) and c owns slot 0 (reshard)
        Map<Integer, String> stored = Map.of(0, "a1,a2", 1, "b1", 2, "c1,c2");
        ClusterShards.Shard c = shard(0, "c1", "c2");
        ClusterShards.Shard a = shard(100, "a2", "a1");
        ClusterShards.Shard b = shard(5461, "b1", "b3");
        Map<ClusterShards.Shard, Integer> assigned = ShardPartitions.assign(stored, List.of(c, a, b));
        assertEquals(2, assigned.get(c));
        assertEquals(0, assigned.get(a));
        assertEquals(1, assigned.get(b), "a replica added since does not change the shard");
    }

    @Test
    void aNewShardGetsAnUnusedPartitionAndAGoneShardsPartitionIsRetiredNotReused() {
        Map<Integer, String> stored = Map.of(0, "a1", 1, "b1", 2, "c1");
        ClusterShards.Shard a = shard(0, "a1");
        ClusterShards.Shard c = shard(10923, "c1");
        ClusterShards.Shard d = shard(5461, "d1");
        Map<ClusterShards.Shard, Integer> assigned = ShardPartitions.assign(stored, List.of(a, d, c));
        assertEquals(3, assigned.get(d), "partition 1 held shard b's stream: not reused");
        assertEquals(Set.of(1), ShardPartitions.retired(stored, assigned));
    }

    @Test
    void aShardWhosePositionWasNeverCommittedTakesTheLowestFreePartition() {
        // the first start stopped before shard b's first commit: its partition 1 holds no committed record
        Map<Integer, String> stored = Map.of(0, "a1", 2, "c1");
        ClusterShards.Shard b = shard(5461, "b1");
        assertEquals(1, ShardPartitions.assign(stored, List.of(shard(0, "a1"), b, shard(10923, "c1"))).get(b));
    }

    @Test
    void aMasterWithoutSlotsMadeAReplicaIsSupersededNotFollowedToItsNewShard() {
        // partition 3 captured x1 while it was a master without slots; x1 is now a replica of a1 (partition 0)
        Map<Integer, String> running = Map.of(0, "a1", 1, "b1", 2, "c1", 3, "x1");
        ClusterShards.Shard a = shard(0, "a1", "x1");
        ClusterShards.Shard b = shard(5461, "b1");
        ClusterShards.Shard c = shard(10923, "c1");
        ShardPartitions.Matching matching = ShardPartitions.match(running, List.of(a, b, c));
        assertEquals(Map.of(0, a, 1, b, 2, c), matching.matched());
        assertEquals(Set.of(3), matching.superseded());
        assertEquals(List.of(), matching.unknown());
        // a restart finds the shard in the partition that holds its master, whatever the map's order
        Map<Integer, String> stored = new java.util.LinkedHashMap<>();
        stored.put(3, "x1");
        stored.put(0, "a1");
        assertEquals(0, ShardPartitions.assign(stored, List.of(a)).get(a));
    }

    @Test
    void midFailoverTwoMastersOfOneShardAreOnePartitionsAndTheOneServingSlotsIsFollowed() {
        Map<Integer, String> running = Map.of(0, "a1,a2", 1, "b1");
        ClusterShards.Shard oldMaster = new ClusterShards.Shard("a1", new NodeAddress("127.0.0.1", 7000), new TreeSet<>(Set.of("a1")), 0, 0);
        ClusterShards.Shard promoted = new ClusterShards.Shard("a2", new NodeAddress("127.0.0.1", 7001), new TreeSet<>(Set.of("a2")), 0, 5461);
        ClusterShards.Shard b = shard(5461, "b1");
        ShardPartitions.Matching matching = ShardPartitions.match(running, List.of(oldMaster, promoted, b));
        assertEquals(Map.of(0, promoted, 1, b), matching.matched());
        assertEquals(Set.of(), matching.superseded());
        assertEquals(List.of(), matching.unknown());
    }

    @Test
    void aShardNoPartitionKnowsIsUnknown() {
        ClusterShards.Shard d = shard(0, "d1");
        ShardPartitions.Matching matching = ShardPartitions.match(Map.of(0, "a1"), List.of(shard(100, "a1"), d));
        assertEquals(List.of(d), matching.unknown());
    }
}
