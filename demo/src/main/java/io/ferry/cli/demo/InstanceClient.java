package io.ferry.cli.demo;

import io.ferry.resp.cluster.HashSlot;
import io.ferry.resp.cluster.NodeAddress;
import io.ferry.resp.cluster.RedisClusterClient;
import io.ferry.resp.cluster.SlotMap;
import io.ferry.topology.RedisEndpoint;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The demo's connection to one instance: its redis-server, or every master of its Redis Cluster, with
 * each key's commands sent to the master serving the key's slot (the slot map read once through
 * Ferry's own cluster client: the demo does not reshard). Commands of one MULTI block must share a slot.
 */
final class InstanceClient implements AutoCloseable {

    private final RedisClient client = RedisClient.create();
    private final Map<NodeAddress, StatefulRedisConnection<byte[], byte[]>> connections = new LinkedHashMap<>();
    private final SlotMap slots;
    private final NodeAddress single;

    private InstanceClient(SlotMap slots, NodeAddress single) {
        this.slots = slots;
        this.single = single;
    }

    static InstanceClient standalone(int port) {
        return new InstanceClient(null, new NodeAddress("127.0.0.1", port));
    }

    /** Reads the slot map from {@code seedPort}, any node of the cluster. */
    static InstanceClient cluster(int seedPort) {
        try (RedisClusterClient cluster = RedisClusterClient.connect(
                java.util.List.of(new RedisEndpoint("127.0.0.1", seedPort, false, null, null)), 5000)) {
            return new InstanceClient(cluster.slots(), null);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the slot map of the cluster at 127.0.0.1:" + seedPort, e);
        }
    }

    /** The commands for {@code key}: on the instance's server, or on the master of the key's slot. */
    RedisCommands<byte[], byte[]> forKey(byte[] key) {
        NodeAddress node = single != null ? single : slots.owner(HashSlot.of(key));
        if (node == null) {
            throw new IllegalStateException("no master serves slot " + HashSlot.of(key));
        }
        return connections.computeIfAbsent(node, n -> client.connect(ByteArrayCodec.INSTANCE,
                RedisURI.builder().withHost(n.host()).withPort(n.port()).withTimeout(Duration.ofSeconds(10)).build())).sync();
    }

    @Override
    public void close() {
        connections.values().forEach(StatefulRedisConnection::close);
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
}
