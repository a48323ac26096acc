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
}
