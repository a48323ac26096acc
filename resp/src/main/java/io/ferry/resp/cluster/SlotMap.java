package io.ferry.resp.cluster;

import io.ferry.resp.RespMessage;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Which master serves each of the 16384 slots, read from {@code CLUSTER SHARDS} (Redis 7.0+) or
 * {@code CLUSTER SLOTS} (older servers). Immutable: a topology change yields a new map. A slot no
 * master serves maps to null.
 */
public final class SlotMap {

    private final NodeAddress[] owners;

    private SlotMap(NodeAddress[] owners) {
        this.owners = owners;
    }

    /** The master serving {@code slot}, or null when none does. */
    public NodeAddress owner(int slot) {
        return owners[slot];
    }

    public NodeAddress ownerOf(byte[] key) {
        return owners[HashSlot.of(key)];
    }

    /** Every master that serves at least one slot, in slot order. */
    public Set<NodeAddress> masters() {
        Set<NodeAddress> masters = new LinkedHashSet<>();
        for (NodeAddress owner : owners) {
            if (owner != null) {
                masters.add(owner);
            }
        }
        return masters;
    }

    /** How many slots have no master: 0 for a healthy cluster. */
    public int unservedSlots() {
        return (int) Arrays.stream(owners).filter(Objects::isNull).count();
    }

    /** This map with one slot given to another master (what a MOVED tells before the next refresh). */
    public SlotMap withOwner(int slot, NodeAddress owner) {
        NodeAddress[] copy = owners.clone();
        copy[slot] = owner;
        return new SlotMap(copy);
    }

    /**
     * Parses a {@code CLUSTER SHARDS} reply: per shard its slot ranges and its nodes (id, ip, endpoint,
     * port or tls-port, role, health). The master's announced endpoint is used, its ip when the endpoint
     * is unknown ("?") and {@code answeredBy}'s host when neither is known.
     *
     * @param tls take the nodes' tls-port rather than their plain port
     */
    public static SlotMap fromShards(RespMessage reply, String answeredBy, boolean tls) {
        NodeAddress[] owners = new NodeAddress[HashSlot.COUNT];
        for (Object shardItem : items(reply, "CLUSTER SHARDS")) {
            List<?> shard = list(shardItem, "a shard");
            List<?> slots = list(field(shard, "slots"), "slots");
            NodeAddress master = null;
            for (Object nodeItem : list(field(shard, "nodes"), "nodes")) {
                List<?> node = list(nodeItem, "a node");
                if (!"master".equals(text(field(node, "role")))) {
                    continue;
                }
                String endpoint = text(field(node, "endpoint"));
                String host = endpoint != null && !endpoint.isEmpty() && !endpoint.equals("?") ? endpoint : text(field(node, "ip"));
                Object port = tls && field(node, "tls-port") != null ? field(node, "tls-port") : field(node, "port");
                if (!(port instanceof Long number)) {
                    throw new IllegalArgumentException("CLUSTER SHARDS: a master without a " + (tls ? "tls-port" : "port"));
                }
                NodeAddress candidate = new NodeAddress(host == null || host.isEmpty() ? answeredBy : host, number.intValue());
                if (master == null || "online".equals(text(field(node, "health")))) {
                    master = candidate; // after a failover the old master may still be listed, failed
                }
            }
            if (master == null) {
                continue; // a shard whose master failed and has no promoted replica yet: its slots are unserved
            }
            for (int i = 0; i + 1 < slots.size(); i += 2) {
                assign(owners, number(slots.get(i)), number(slots.get(i + 1)), master);
            }
        }
        return new SlotMap(owners);
    }

    /**
     * Parses a {@code CLUSTER SLOTS} reply: per range its first and last slot, then the master's ip and
     * port, then its replicas'. An empty ip means the node that answered.
     */
    public static SlotMap fromSlots(RespMessage reply, String answeredBy) {
        NodeAddress[] owners = new NodeAddress[HashSlot.COUNT];
        for (Object rangeItem : items(reply, "CLUSTER SLOTS")) {
            List<?> range = list(rangeItem, "a slot range");
            if (range.size() < 3) {
                throw new IllegalArgumentException("CLUSTER SLOTS: a range without a master: " + range.size() + " items");
            }
            List<?> master = list(range.get(2), "a master");
            String host = text(master.get(0));
            assign(owners, number(range.get(0)), number(range.get(1)),
                    new NodeAddress(host == null || host.isEmpty() || host.equals("?") ? answeredBy : host, number(master.get(1))));
        }
        return new SlotMap(owners);
    }

    private static void assign(NodeAddress[] owners, int first, int last, NodeAddress master) {
        if (first < 0 || last >= HashSlot.COUNT || first > last) {
            throw new IllegalArgumentException("slot range " + first + "-" + last + " outside 0-" + (HashSlot.COUNT - 1));
        }
        Arrays.fill(owners, first, last + 1, master);
    }

    private static List<?> items(RespMessage reply, String command) {
        if (reply instanceof RespMessage.Array array) {
            return array.items();
        }
        if (reply instanceof RespMessage.Command bulks) {
            return List.of((Object[]) bulks.argv());
        }
        if (reply instanceof RespMessage.Error error) {
            throw new IllegalArgumentException(command + " refused: " + error.text());
        }
        throw new IllegalArgumentException(command + " answered " + reply.getClass().getSimpleName() + ", not an array");
    }

    /** The value after {@code name} in a flat name/value array (RESP2's form of a map); null when absent. */
    private static Object field(List<?> pairs, String name) {
        for (int i = 0; i + 1 < pairs.size(); i += 2) {
            if (name.equals(text(pairs.get(i)))) {
                return pairs.get(i + 1);
            }
        }
        return null;
    }

    private static List<?> list(Object item, String what) {
        if (item instanceof List<?> list) {
            return list;
        }
        throw new IllegalArgumentException("cluster topology reply: " + what + " is not an array");
    }

    private static String text(Object item) {
        if (item instanceof byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
        return item instanceof String simple ? simple : null;
    }

    private static int number(Object item) {
        if (item instanceof Long value) {
            return value.intValue();
        }
        throw new IllegalArgumentException("cluster topology reply: expected an integer, got " + item);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof SlotMap map && Arrays.equals(owners, map.owners);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(owners);
    }

    @Override
    public String toString() {
        return "SlotMap" + masters() + (unservedSlots() > 0 ? " (" + unservedSlots() + " slots unserved)" : "");
    }
}
