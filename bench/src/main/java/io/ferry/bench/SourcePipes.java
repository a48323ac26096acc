package io.ferry.bench;

import io.ferry.resp.cluster.NodeAddress;
import io.ferry.resp.cluster.RedisClusterClient;
import io.ferry.resp.cluster.SlotMap;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The load generator's connections to the source: one {@link RedisPipe} per shard (one for a
 * standalone Redis, one per master of a Redis Cluster, in slot order) and the {@link SlotRouting} that
 * says which pipe each key goes to. The slot map is read once: the benchmark does not reshard.
 */
final class SourcePipes implements AutoCloseable {

    private final SlotRouting routing;
    private final List<RedisPipe> pipes;

    private SourcePipes(SlotRouting routing, List<RedisPipe> pipes) {
        this.routing = routing;
        this.pipes = pipes;
    }

    static SourcePipes standalone(int port) {
        return new SourcePipes(SlotRouting.standalone(), List.of(new RedisPipe("127.0.0.1", port)));
    }

    /** Reads the slot map from {@code seedPort} (any node) and opens a pipe to every master. */
    static SourcePipes cluster(int seedPort) {
        SlotMap slots;
        try (RedisClusterClient client = RedisClusterClient.connect(
                List.of(new RedisEndpoint("127.0.0.1", seedPort, false, null, null)), 5000)) {
            slots = client.slots();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the slot map of the cluster at 127.0.0.1:" + seedPort, e);
        }
        List<NodeAddress> masters = new ArrayList<>(slots.masters());
        SlotRouting routing = SlotRouting.cluster(masters.size(), slot -> masters.indexOf(slots.owner(slot)));
        List<RedisPipe> pipes = new ArrayList<>();
        try {
            for (NodeAddress master : masters) {
                pipes.add(new RedisPipe(master.host(), master.port()));
            }
        } catch (RuntimeException e) {
            pipes.forEach(RedisPipe::close);
            throw e;
        }
        return new SourcePipes(routing, pipes);
    }

    SlotRouting routing() {
        return routing;
    }

    int shards() {
        return pipes.size();
    }

    RedisPipe pipe(int shard) {
        return pipes.get(shard);
    }

    /** Replies received on every pipe. */
    long replies() {
        long sum = 0;
        for (RedisPipe pipe : pipes) {
            sum += pipe.replies();
        }
        return sum;
    }

    long errors() {
        long sum = 0;
        for (RedisPipe pipe : pipes) {
            sum += pipe.errors();
        }
        return sum;
    }

    /** The last error any pipe saw, or null. */
    String lastError() {
        String last = null;
        for (RedisPipe pipe : pipes) {
            last = pipe.lastError() != null ? pipe.lastError() : last;
        }
        return last;
    }

    /** Waits until {@code expected} replies have arrived over all pipes together. */
    void awaitReplies(long expected, long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (replies() < expected) {
            pipes.forEach(RedisPipe::checkHealthy);
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("redis answered " + replies() + " of " + expected
                        + " commands within " + timeoutMillis + " ms");
            }
            LockSupport.parkNanos(200_000);
        }
    }

    @Override
    public void close() {
        pipes.forEach(RedisPipe::close);
    }
}
