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
 *
 * <p>Node ids can name two partitions when a node changed shards: a master without slots (a node just
 * added, or one whose last slot moved away) made a replica of another master. Its old partition must not
 * follow the shard it joined, whose stream another partition already carries, or every write would be
 * published twice; the partition whose nodes include the shard's master keeps the shard, the other is
 * superseded and retired.
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
            Integer owner = owner(shard, stored, taken);
            if (owner != null) {
                assigned.put(shard, owner);
                taken.add(owner);
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

    /**
     * The partition of {@code candidates} (partition to node ids) that carries {@code shard}'s stream: the
     * lowest one whose nodes include the shard's master, else the lowest with any of its nodes; null if none.
     */
    private static Integer owner(ClusterShards.Shard shard, Map<Integer, String> candidates, Set<Integer> excluded) {
        Integer any = null;
        for (Map.Entry<Integer, String> entry : new java.util.TreeMap<>(candidates).entrySet()) {
            if (excluded.contains(entry.getKey()) || !shard.sameShardAs(entry.getValue())) {
                continue;
            }
            if (Set.of(entry.getValue().split(",")).contains(shard.masterId())) {
                return entry.getKey();
            }
            if (any == null) {
                any = entry.getKey();
            }
        }
        return any;
    }

    /**
     * What the running captures should follow now.
     *
     * @param matched    each running partition's shard in the node table
     * @param unknown    the shards no running partition knows: new shards
     * @param superseded running partitions whose nodes now belong to a shard another partition carries
     */
    public record Matching(Map<Integer, ClusterShards.Shard> matched, List<ClusterShards.Shard> unknown, Set<Integer> superseded) {
    }

    /**
     * Matches the running captures (partition to every node id seen in its shard) to the node table's
     * shards. Mid-failover the table can list the old and the new master of one shard as two masters, each
     * with part of the shard's nodes: both are that partition's shard, and the one serving more slots is
     * followed. A shard whose nodes two partitions know goes to its {@link #owner}; the other partition,
     * if no other shard is left for it, is superseded.
     */
    public static Matching match(Map<Integer, String> running, List<ClusterShards.Shard> shards) {
        Map<Integer, ClusterShards.Shard> matched = new java.util.TreeMap<>();
        List<ClusterShards.Shard> unknown = new java.util.ArrayList<>();
        Set<Integer> lost = new TreeSet<>();
        for (ClusterShards.Shard shard : shards) {
            Integer owner = owner(shard, running, Set.of());
            if (owner == null) {
                unknown.add(shard);
                continue;
            }
            matched.merge(owner, shard, (a, b) -> b.slots() > a.slots() ? b : a);
            running.forEach((partition, nodes) -> {
                if (!partition.equals(owner) && shard.sameShardAs(nodes)) {
                    lost.add(partition);
                }
            });
        }
        lost.removeAll(matched.keySet());
        return new Matching(matched, unknown, lost);
    }

    /** The partitions with a stored position whose shard is not among {@code assigned}: retired. */
    public static Set<Integer> retired(Map<Integer, String> stored, Map<ClusterShards.Shard, Integer> assigned) {
        Set<Integer> retired = new TreeSet<>(stored.keySet());
        retired.removeAll(assigned.values());
        return retired;
    }
}
