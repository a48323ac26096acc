package io.ferry.capture.cluster;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which partition of the changes topic each shard of a Redis Cluster source is captured into. A shard
 * keeps the partition whose committed positions carry any of its node ids (stored with every position):
 * node ids survive failovers and slot moves, so neither changes the mapping, and a restart finds each
 * shard's stream position again. A shard none of whose nodes has a position (first start, or a shard
 * added later) takes the lowest partition nobody has used, in the order of the shards' lowest slots, so
 * a first start maps the shard holding slot 0 to partition 0 and so on. A partition whose shard is gone
 * (all its nodes left the cluster) is retired: never reused, so its records stay that shard's.
 */
public final class ShardPartitions {

    private ShardPartitions() {
    }

    /**
     * @param stored the node ids stored with each partition's last position (see
     *               {@link io.ferry.capture.position.PositionStore#shardNodes})
     * @param shards the cluster's shards now, ordered by lowest slot
     * @return each shard's partition, in the order of {@code shards}
     */
    public static Map<ClusterShards.Shard, Integer> assign(Map<Integer, String> stored, List<ClusterShards.Shard> shards) {
        Map<ClusterShards.Shard, Integer> assigned = new LinkedHashMap<>();
        Set<Integer> taken = new TreeSet<>();
        for (ClusterShards.Shard shard : shards) {
            for (Map.Entry<Integer, String> entry : stored.entrySet()) {
                if (!taken.contains(entry.getKey()) && shard.sameShardAs(entry.getValue())) {
                    assigned.put(shard, entry.getKey());
                    taken.add(entry.getKey());
                    break;
                }
            }
        }
        int next = 0;
        for (ClusterShards.Shard shard : shards) {
            if (!assigned.containsKey(shard)) {
                while (taken.contains(next) || stored.containsKey(next)) {
                    next++;
                }
                assigned.put(shard, next);
                taken.add(next);
            }
        }
        Map<ClusterShards.Shard, Integer> ordered = new LinkedHashMap<>();
        shards.forEach(shard -> ordered.put(shard, assigned.get(shard)));
        return ordered;
    }

    /** The partitions with a stored position whose shard is not among {@code assigned}: retired. */
    public static Set<Integer> retired(Map<Integer, String> stored, Map<ClusterShards.Shard, Integer> assigned) {
        Set<Integer> retired = new TreeSet<>(stored.keySet());
        retired.removeAll(assigned.values());
        return retired;
    }
}
