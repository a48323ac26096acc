package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertNull;

import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisListAsyncCommands;
import io.lettuce.core.api.async.RedisStringAsyncCommands;
import io.lettuce.core.api.sync.RedisListCommands;
import io.lettuce.core.api.sync.RedisStringCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Client load whose end state is known exactly: {@code ops} pipelined commands on one instance,
 * alternating {@code INCR <p>:counter:<i%keys>} and {@code RPUSH <p>:list:<i%keys> <i>} (or INCRs only), paced to take
 * at least {@code minDuration} so faults can land in the middle of it.
 */
final class CounterLoad {

    private final MeshUnderTest mesh;
    private final String name;
    private final String prefix;
    private final int ops;
    private final int keys;
    private final Duration minDuration;
    private CompletableFuture<Void> running;
    /** Whether every op is an INCR (no list is pushed to). */
    private boolean incrementsOnly;
    /** Port of a Redis Cluster node when the instance is a cluster: the load goes through a cluster client. */
    private Integer clusterPort;

    CounterLoad(MeshUnderTest mesh, String name, int ops, int keys, Duration minDuration) {
        this(mesh, name, "load:" + name.toLowerCase(), ops, keys, minDuration);
    }

    /** A load with keys of its own under {@code prefix} (a second load on one instance). */
    CounterLoad(MeshUnderTest mesh, String name, String prefix, int ops, int keys, Duration minDuration) {
        this.mesh = mesh;
        this.name = name;
        this.prefix = prefix;
        this.ops = ops;
        this.keys = keys;
        this.minDuration = minDuration;
    }

    String prefix() {
        return prefix;
    }

    /** Every op increments ({@code INCR <p>:counter:<(i/2)%keys>}), none pushes; call before start. */
    CounterLoad incrementsOnly() {
        this.incrementsOnly = true;
        return this;
    }

    /** Writes through a cluster client seeded at {@code port} (the instance is a Redis Cluster); call before start. */
    CounterLoad onCluster(int port) {
        this.clusterPort = port;
        return this;
    }

    CounterLoad start() {
        running = CompletableFuture.runAsync(this::run);
        return this;
    }

    boolean isDone() {
        return running.isDone();
    }

    void await() {
        running.join();
    }

    private void run() {
        if (clusterPort != null) {
            io.lettuce.core.cluster.RedisClusterClient client = io.lettuce.core.cluster.RedisClusterClient.create(
                    io.lettuce.core.RedisURI.create("127.0.0.1", clusterPort));
            try (var connection = client.connect()) {
                // commands stay pipelined (async) but are written at once: with manual flushing, a command queued for a
                // node connection still opening waits for a next flush that this load only sends after the batch
                write(connection.async(), () -> { });
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }
            return;
        }
        RedisClient client = mesh.newClient(name);
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            connection.setAutoFlushCommands(false);
            write(connection.async(), connection::flushCommands);
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    private <C extends RedisStringAsyncCommands<String, String> & RedisListAsyncCommands<String, String>> void write(C async, Runnable flush) {
        try {
            int batch = 1000;
            int batches = (ops + batch - 1) / batch;
            long perBatchNanos = minDuration.toNanos() / batches;
            long start = System.nanoTime();
            for (int b = 0; b < batches; b++) {
                List<RedisFuture<?>> futures = new ArrayList<>(batch);
                for (int i = b * batch; i < Math.min(ops, (b + 1) * batch); i++) {
                    int k = (i / 2) % keys;
                    futures.add(i % 2 == 0 || incrementsOnly ? async.incr(prefix() + ":counter:" + k)
                            : async.rpush(prefix() + ":list:" + k, String.valueOf(i)));
                }
                flush.run();
                if (!LettuceFutures.awaitAll(60, TimeUnit.SECONDS, futures.toArray(new RedisFuture[0]))) {
                    throw new IllegalStateException("writes to " + name + " timed out");
                }
                long due = start + (b + 1) * perBatchNanos;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    // pacing of the client load, not a wait for a result
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Counters and list lengths {@code on} must hold once this load has been applied there. */
    boolean appliedOn(String on) {
        return appliedOn(mesh.redis(on));
    }

    /** The same read through {@code r} (a cluster client for a cluster instance). */
    <R extends RedisStringCommands<String, String> & RedisListCommands<String, String>> boolean appliedOn(R r) {
        return firstDifference(r) == null;
    }

    /** Asserts exact counters and list lengths on {@code on}, naming the first key that differs. */
    void assertAppliedExactlyOnceOn(String on) {
        assertAppliedExactlyOnceOn(on, mesh.redis(on));
    }

    <R extends RedisStringCommands<String, String> & RedisListCommands<String, String>> void assertAppliedExactlyOnceOn(String on, R r) {
        String difference = firstDifference(r);
        assertNull(difference, on + " " + difference);
    }

    /** The first key whose counter or list length read through {@code r} is not this load's, with both values; null when none. */
    <R extends RedisStringCommands<String, String> & RedisListCommands<String, String>> String firstDifference(R r) {
        for (int k = 0; k < keys; k++) {
            String counter = r.get(prefix() + ":counter:" + k);
            if (!String.valueOf(expectedIncrs(k)).equals(counter)) {
                return prefix() + ":counter:" + k + " is " + counter + ", expected " + expectedIncrs(k);
            }
            long pushes = r.llen(prefix() + ":list:" + k);
            if (pushes != expectedPushes(k)) {
                return prefix() + ":list:" + k + " has " + pushes + " elements, expected " + expectedPushes(k);
            }
        }
        return null;
    }

    /**
     * For loads on several instances that write the same keys (one prefix, one key count): the first key whose counter
     * or list length read through {@code r} is not the sum of theirs, with both values; null when none.
     */
    static <R extends RedisStringCommands<String, String> & RedisListCommands<String, String>> String firstDifferenceOfAll(
            List<CounterLoad> loads, R r) {
        CounterLoad first = loads.get(0);
        for (int k = 0; k < first.keys; k++) {
            int key = k;
            long incrs = loads.stream().mapToLong(load -> load.expectedIncrs(key)).sum();
            long pushes = loads.stream().mapToLong(load -> load.expectedPushes(key)).sum();
            String counter = r.get(first.prefix() + ":counter:" + k);
            if (!String.valueOf(incrs).equals(counter)) {
                return first.prefix() + ":counter:" + k + " is " + counter + ", expected " + incrs;
            }
            long length = r.llen(first.prefix() + ":list:" + k);
            if (length != pushes) {
                return first.prefix() + ":list:" + k + " has " + length + " elements, expected " + pushes;
            }
        }
        return null;
    }

    private long expectedIncrs(int k) {
        long n = 0;
        for (int i = 0; i < ops; i += incrementsOnly ? 1 : 2) {
            if ((i / 2) % keys == k) {
                n++;
            }
        }
        return n;
    }

    private long expectedPushes(int k) {
        if (incrementsOnly) {
            return 0;
        }
        long n = 0;
        for (int i = 1; i < ops; i += 2) {
            if ((i / 2) % keys == k) {
                n++;
            }
        }
        return n;
    }
}
