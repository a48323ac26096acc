package io.ferry.capture.cluster;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespMessage;
import io.ferry.resp.cluster.NodeAddress;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The shards of a Redis Cluster as one node sees them (CLUSTER NODES, which Redis 6.2 and 7 both have):
 * each master, with the ids of its replicas. A master without slots is a shard too: slots moved to it
 * later arrive through its stream (RESTORE-ASKING), which must be read from before the first one. A shard is known by its node ids, which
 * survive failovers (the replica promoted is in the set) and slot moves, unlike addresses or slot ranges.
 */
public record ClusterShards(List<Shard> shards, Set<String> nodeIds) {

    /** One master and its replicas; {@code lowestSlot} is Integer.MAX_VALUE for a master without slots. */
    public record Shard(String masterId, NodeAddress master, Set<String> nodeIds, int lowestSlot, int slots) {

        /** The node ids as stored with the shard's positions: sorted, comma-separated. */
        public String nodes() {
            return String.join(",", nodeIds);
        }

        /** Whether this shard has any node of a shard stored as {@code storedNodes}. */
        public boolean sameShardAs(String storedNodes) {
            for (String id : storedNodes.split(",")) {
                if (nodeIds.contains(id.trim())) {
                    return true;
                }
            }
            return false;
        }

        public RedisEndpoint endpoint(RedisEndpoint seed) {
            return master.endpoint(seed);
        }
    }

    /** Asks {@code node} (any node of the cluster) for the cluster's shards. */
    public static ClusterShards read(RedisEndpoint node, int timeoutMillis) throws IOException {
        try (RedisConnection connection = RedisConnection.open(node, timeoutMillis)) {
            RespMessage reply = connection.call("CLUSTER", "NODES");
            if (reply instanceof RespMessage.BulkString bulk && bulk.bytes() != null) {
                return parse(new String(bulk.bytes(), StandardCharsets.UTF_8), node.host());
            }
            throw new IOException(node + " did not answer CLUSTER NODES with the node table (" + reply
                    + "): is it a Redis Cluster node (cluster-enabled yes)?");
        }
    }

    /**
     * Parses CLUSTER NODES: {@code <id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>...}.
     * Masters flagged fail, handshake or noaddr are left out; a slot being
     * imported or migrated ({@code [n-<-id]}, {@code [n->-id]}) still belongs to the master listing it plainly.
     *
     * @param answeredBy the host of the node that answered, for a node that does not know its own address
     */
    public static ClusterShards parse(String nodes, String answeredBy) {
        record Node(String id, NodeAddress address, Set<String> flags, String master, int lowestSlot, int slots) {
        }
        List<Node> all = new ArrayList<>();
        for (String line : nodes.split("\r?\n")) {
            String[] fields = line.trim().split(" ");
            if (fields.length < 8) {
                continue;
            }
            String address = fields[1];
            int at = address.indexOf('@');
            String hostPort = at < 0 ? address.split(",")[0] : address.substring(0, at);
            NodeAddress parsed = NodeAddress.parse(hostPort.startsWith(":") ? answeredBy + hostPort : hostPort);
            int lowest = Integer.MAX_VALUE;
            int slots = 0;
            for (int i = 8; i < fields.length; i++) {
                String range = fields[i];
                if (range.startsWith("[")) {
                    continue;
                }
                int dash = range.indexOf('-');
                int first = Integer.parseInt(dash < 0 ? range : range.substring(0, dash));
                int last = dash < 0 ? first : Integer.parseInt(range.substring(dash + 1));
                lowest = Math.min(lowest, first);
                slots += last - first + 1;
            }
            all.add(new Node(fields[0], parsed, Set.of(fields[2].split(",")), fields[3], lowest, slots));
        }
        Map<String, Set<String>> replicas = new HashMap<>();
        for (Node node : all) {
            if (!node.master().equals("-")) {
                replicas.computeIfAbsent(node.master(), m -> new TreeSet<>()).add(node.id());
            }
        }
        List<Shard> shards = new ArrayList<>();
        for (Node node : all) {
            Set<String> flags = node.flags();
            if (flags.contains("master") && !flags.contains("fail") && !flags.contains("handshake")
                    && !flags.contains("noaddr")) {
                TreeSet<String> ids = new TreeSet<>(replicas.getOrDefault(node.id(), Set.of()));
                ids.add(node.id());
                shards.add(new Shard(node.id(), node.address(), java.util.Collections.unmodifiableSortedSet(ids),
                        node.lowestSlot(), node.slots()));
            }
        }
        shards.sort(Comparator.comparingInt(Shard::lowestSlot));
        return new ClusterShards(List.copyOf(shards), all.stream().map(Node::id).collect(java.util.stream.Collectors.toUnmodifiableSet()));
    }

    /** Whether any of {@code ids} is a node of the cluster (in any role or state). */
    public boolean knows(Set<String> ids) {
        return ids.stream().anyMatch(nodeIds::contains);
    }

    /** The slots served by some master; 16384 when the cluster covers every slot. */
    public int servedSlots() {
        return shards.stream().mapToInt(Shard::slots).sum();
    }
}
