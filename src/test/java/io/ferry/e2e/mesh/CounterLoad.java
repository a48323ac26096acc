package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertNull;

import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Client load whose end state is known exactly: {@code ops} pipelined commands on one instance,
 * alternating {@code INCR <p>:counter:<i%keys>} and {@code RPUSH <p>:list:<i%keys> <i>}, paced to take
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
        RedisClient client = mesh.newClient(name);
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            connection.setAutoFlushCommands(false);
            RedisAsyncCommands<String, String> async = connection.async();
            int batch = 1000;
            int batches = (ops + batch - 1) / batch;
            long perBatchNanos = minDuration.toNanos() / batches;
            long start = System.nanoTime();
            for (int b = 0; b < batches; b++) {
                List<RedisFuture<?>> futures = new ArrayList<>(batch);
                for (int i = b * batch; i < Math.min(ops, (b + 1) * batch); i++) {
                    int k = (i / 2) % keys;
                    futures.add(i % 2 == 0 ? async.incr(prefix() + ":counter:" + k)
                            : async.rpush(prefix() + ":list:" + k, String.valueOf(i)));
                }
                connection.flushCommands();
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
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    /** Counters and list lengths {@code on} must hold once this load has been applied there. */
    boolean appliedOn(String on) {
        return firstDifference(on) == null;
    }

    /** Asserts exact counters and list lengths on {@code on}, naming the first key that differs. */
    void assertAppliedExactlyOnceOn(String on) {
        String difference = firstDifference(on);
        assertNull(difference, on + " " + difference);
    }

    /** The first key on {@code on} whose counter or list length is not this load's, with both values; null when none. */
    String firstDifference(String on) {
        RedisCommands<String, String> r = mesh.redis(on);
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

    private long expectedIncrs(int k) {
        long n = 0;
        for (int i = 0; i < ops; i += 2) {
            if ((i / 2) % keys == k) {
                n++;
            }
        }
        return n;
    }

    private long expectedPushes(int k) {
        long n = 0;
        for (int i = 1; i < ops; i += 2) {
            if ((i / 2) % keys == k) {
                n++;
            }
        }
        return n;
    }
}
