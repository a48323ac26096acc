package io.ferry.cli.lifecycle;

import io.ferry.capture.cluster.ClusterShards;
import io.ferry.capture.cluster.ShardPartitions;
import io.ferry.capture.position.PositionStore;
import io.ferry.cli.ExitCode;
import io.ferry.cli.OperatorException;
import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespMessage;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.resp.cluster.RedisClusterClient;
import io.ferry.resp.cluster.SlotMap;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An instance's Redis as a join sees it: the servers that hold its keys, each with the slots it serves and
 * the partition of the instance's changes topic its capture publishes to. A standalone Redis is one shard
 * of every slot, partition 0; a Redis Cluster is one shard per master serving slots, partitioned as its
 * cluster capture does it ({@link ShardPartitions}, from the node ids stored with its positions).
 */
record RedisShards(List<Shard> shards, SlotMap slotMap, Map<String, Long> configEpochs) {

    private static final int TIMEOUT_MILLIS = 10_000;

    /**
     * One server: {@code node} is reached on its own (never through cluster routing); {@code nodeIds} are the
     * shard's node ids as its capture stores them (null for a standalone server).
     */
    record Shard(RedisEndpoint node, BitSet slots, int partition, String nodeIds) {
    }

    static RedisShards of(InstanceConfig instance) {
        if (!instance.redis().cluster()) {
            BitSet all = new BitSet(HashSlot.COUNT);
            all.set(0, HashSlot.COUNT);
            return new RedisShards(List.of(new Shard(instance.redis(), all, 0, null)), null, Map.of());
        }
        try {
            ClusterShards cluster = ClusterShards.read(instance.redis(), TIMEOUT_MILLIS);
            SlotMap slotMap;
            try (RedisClusterClient client = RedisClusterClient.connect(List.of(instance.redis()), TIMEOUT_MILLIS)) {
                slotMap = client.slots();
            }
            List<ClusterShards.Shard> serving = cluster.shards().stream().filter(s -> s.slots() > 0).toList();
            Map<Integer, String> stored = PositionStore.shardNodes(instance.kafka().clientProperties(), instance.id(),
                    Duration.ofSeconds(30));
            Map<ClusterShards.Shard, Integer> partitions = ShardPartitions.assign(stored, serving);
            List<Shard> shards = new ArrayList<>();
            for (ClusterShards.Shard shard : serving) {
                BitSet slots = new BitSet(HashSlot.COUNT);
                for (int slot = 0; slot < HashSlot.COUNT; slot++) {
                    if (shard.master().equals(slotMap.owner(slot))) {
                        slots.set(slot);
                    }
                }
                if (slots.cardinality() != shard.slots()) {
                    throw new OperatorException(ExitCode.NOT_READY, instance.id() + "'s cluster (" + instance.redis() + ") is"
                            + " changing its slots (CLUSTER NODES and CLUSTER SHARDS disagree on " + shard.master() + "); run the"
                            + " join again once no slot moves");
                }
                shards.add(new Shard(shard.endpoint(instance.redis()), slots, partitions.get(shard), shard.nodes()));
            }
            Map<String, Long> epochs = new TreeMap<>();
            for (ClusterShards.Shard shard : serving) {
                OwnView own = ownView(shard.endpoint(instance.redis()));
                if (!own.openMoves().isEmpty()) {
                    throw new OperatorException(ExitCode.NOT_READY, instance.id() + "'s cluster (" + instance.redis() + ") is moving"
                            + " slots: " + shard.endpoint(instance.redis()) + " has " + String.join(" ", own.openMoves()) + " (a slot"
                            + " half migrated, its keys on two masters, cannot be copied consistently); " + AGAIN);
                }
                epochs.put(shard.masterId(), own.configEpoch());
            }
            return new RedisShards(List.copyOf(shards), slotMap, java.util.Collections.unmodifiableMap(epochs));
        } catch (IOException e) {
            throw new OperatorException(ExitCode.NOT_READY, "cannot read the shards of " + instance.id() + "'s cluster ("
                    + instance.redis() + "): " + e.getMessage());
        }
    }

    boolean cluster() {
        return slotMap != null;
    }

    /** The partitions of the instance's topic these shards publish to. */
    List<Integer> partitions() {
        return shards.stream().map(Shard::partition).sorted().toList();
    }

    /** Slots no shard serves. */
    int unservedSlots() {
        BitSet served = new BitSet(HashSlot.COUNT);
        shards.forEach(shard -> served.or(shard.slots()));
        return HashSlot.COUNT - served.cardinality();
    }

    /** Refuses when the slots moved since {@code before} was read: copies of different moments would not fit together. */
    void requireSameSlots(RedisShards before, String instance) {
        if (cluster() && !slotMap.equals(before.slotMap)) {
            throw new OperatorException(ExitCode.NOT_READY, "slots of " + instance + "'s cluster moved while the join copied it; "
                    + AGAIN);
        }
        if (cluster() && !configEpochs.equals(before.configEpochs)) {
            // a slot moved away and back (or a failover) leaves the slot map as it was: the masters' config epochs tell
            throw new OperatorException(ExitCode.NOT_READY, "the slots of " + instance + "'s cluster changed hands while the join"
                    + " copied it (config epochs of its masters " + before.configEpochs + ", now " + configEpochs + "); " + AGAIN);
        }
    }

    private static final String AGAIN = "run the join again with --replace-data once no slot moves (what it copied so far is not used)";

    /**
     * What a master says of itself (its own line of CLUSTER NODES, the only one that shows its half-done slot moves):
     * its config epoch, which a completed slot move raises on the master that took the slot (unless it had the
     * cluster's greatest epoch already, so a slot moved away and back raises one of the two), and its slots being
     * migrated or imported ({@code [slot->-node]}, {@code [slot-<-node]}).
     */
    record OwnView(long configEpoch, List<String> openMoves) {
    }

    static OwnView ownView(String clusterNodes) {
        for (String line : clusterNodes.split("\r?\n")) {
            String[] fields = line.trim().split(" ");
            if (fields.length < 8 || !List.of(fields[2].split(",")).contains("myself")) {
                continue;
            }
            List<String> open = new ArrayList<>();
            for (int i = 8; i < fields.length; i++) {
                if (fields[i].startsWith("[")) {
                    open.add(fields[i]);
                }
            }
            return new OwnView(Long.parseLong(fields[6]), List.copyOf(open));
        }
        throw new IllegalArgumentException("no line flagged myself in CLUSTER NODES: " + clusterNodes);
    }

    private static OwnView ownView(RedisEndpoint master) throws IOException {
        try (RedisConnection connection = RedisConnection.open(master, TIMEOUT_MILLIS)) {
            RespMessage reply = connection.call("CLUSTER", "NODES");
            if (reply instanceof RespMessage.BulkString bulk && bulk.bytes() != null) {
                return ownView(new String(bulk.bytes(), StandardCharsets.UTF_8));
            }
            throw new IOException(master + " did not answer CLUSTER NODES with the node table (" + reply + ")");
        }
    }
}
