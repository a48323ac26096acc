package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The soak's client load on one instance, written straight to its Redis (the application, not an
 * agent): pipelined batches of {@code INCR soak:<n>:counter:<k>}, {@code RPUSH soak:<n>:list:<k> <seq>},
 * {@code SET soak:<n>:set:<k> <seq>} on keys only this instance writes, so every peer's end state is known
 * exactly, plus {@code SET soak:shared:<k>} that every instance writes (concurrent writes, converged by
 * the mesh's policy). Only acknowledged batches count; a write that fails is an error of the test run,
 * because the soak never takes this Redis away without {@link #pause() pausing} its writer first.
 */
final class SoakLoad implements AutoCloseable {

    static final String PREFIX = "soak:";
    private static final int KEYS = 16;
    private static final int SHARED_KEYS = 4;
    private static final int BATCH = 90;
    private static final long BATCH_EVERY_MILLIS = 250;

    private final MeshUnderTest mesh;
    private final String name;
    private final String prefix;
    private final long[] incrs = new long[KEYS];
    private final List<List<Long>> pushes = new ArrayList<>();
    private final long[] lastSet = new long[KEYS];
    private final ReentrantLock batchLock = new ReentrantLock(true);
    private final Thread writer;
    private volatile boolean stopping;
    private volatile Throwable failure;
    private long seq;
    // guarded by batchLock: replaced by reconnect() while the writer is paused
    private RedisClient client;
    private StatefulRedisConnection<String, String> connection;

    SoakLoad(MeshUnderTest mesh, String name) {
        this.mesh = mesh;
        this.name = name;
        this.prefix = PREFIX + name.toLowerCase() + ":";
        for (int k = 0; k < KEYS; k++) {
            pushes.add(new ArrayList<>());
            lastSet[k] = -1;
        }
        writer = new Thread(this::run, "soak-load-" + name);
        writer.setDaemon(true);
    }

    SoakLoad start() {
        writer.start();
        return this;
    }

    /** Waits for the batch in flight and holds the writer until {@link #resume()}. */
    void pause() {
        batchLock.lock();
    }

    void resume() {
        batchLock.unlock();
    }

    /**
     * While {@link #pause() paused}: a new connection instead of the old one, whose reconnection after its
     * Redis was restarted is Lettuce's business and was seen to stall past the batch timeout. No batch is in
     * flight while paused, so the oracle stays exact.
     */
    void reconnect() {
        if (!batchLock.isHeldByCurrentThread()) {
            throw new IllegalStateException("reconnect only while paused");
        }
        shutDown(client);
        connect();
    }

    private void connect() {
        client = mesh.newClient(name);
        connection = client.connect();
        connection.setAutoFlushCommands(false);
    }

    private static void shutDown(RedisClient client) {
        if (client != null) {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    long ops() {
        batchLock.lock();
        try {
            return seq;
        } finally {
            batchLock.unlock();
        }
    }

    private void run() {
        try {
            batchLock.lock();
            try {
                connect();
            } finally {
                batchLock.unlock();
            }
            long next = System.nanoTime();
            while (!stopping) {
                batchLock.lock();
                try {
                    writeBatch(connection, connection.async());
                } finally {
                    batchLock.unlock();
                }
                next += TimeUnit.MILLISECONDS.toNanos(BATCH_EVERY_MILLIS);
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait); // pacing of the client load, not a wait for a result
                } else {
                    next = System.nanoTime();
                }
            }
        } catch (Throwable e) {
            failure = e;
        } finally {
            batchLock.lock();
            try {
                shutDown(client);
            } finally {
                batchLock.unlock();
            }
        }
    }

    private void writeBatch(StatefulRedisConnection<String, String> connection, RedisAsyncCommands<String, String> async) {
        List<RedisFuture<?>> futures = new ArrayList<>(BATCH);
        long first = seq;
        for (int i = 0; i < BATCH; i++) {
            long s = first + i;
            int k = (int) ((s / 4) % KEYS);
            futures.add(switch ((int) (s % 4)) {
                case 0 -> async.incr(prefix + "counter:" + k);
                case 1 -> async.rpush(prefix + "list:" + k, String.valueOf(s));
                case 2 -> async.set(prefix + "set:" + k, String.valueOf(s));
                default -> s % 40 == 3 ? async.set(PREFIX + "shared:" + (s / 40) % SHARED_KEYS, name + ":" + s)
                        : async.incr(prefix + "counter:" + k);
            });
        }
        connection.flushCommands();
        if (!LettuceFutures.awaitAll(60, TimeUnit.SECONDS, futures.toArray(new RedisFuture[0]))) {
            throw new IllegalStateException("writes to " + name + " not acknowledged within 60 s");
        }
        // acknowledged: only now does the batch count in the oracle
        for (int i = 0; i < BATCH; i++) {
            long s = first + i;
            int k = (int) ((s / 4) % KEYS);
            switch ((int) (s % 4)) {
                case 0 -> incrs[k]++;
                case 1 -> pushes.get(k).add(s);
                case 2 -> lastSet[k] = s;
                default -> {
                    if (s % 40 != 3) {
                        incrs[k]++;
                    }
                }
            }
        }
        seq = first + BATCH;
    }

    /** Stops writing after the batch in flight; throws what the writer failed with, if anything. */
    void stop() throws InterruptedException {
        stopping = true;
        writer.join(TimeUnit.SECONDS.toMillis(90));
        if (failure != null) {
            throw new AssertionError("the load on " + name + " failed", failure);
        }
    }

    /** True when {@code on} holds exactly this load's counters, lists and SET values. */
    boolean appliedOn(String on) {
        try {
            assertAppliedExactlyOnceOn(on);
            return true;
        } catch (AssertionError notYet) {
            return false;
        }
    }

    /** Exact counters, list contents in order (nothing lost, nothing doubled) and last SET values on {@code on}. */
    void assertAppliedExactlyOnceOn(String on) {
        RedisCommands<String, String> r = mesh.redis(on);
        for (int k = 0; k < KEYS; k++) {
            assertEquals(incrs[k] == 0 ? null : String.valueOf(incrs[k]), r.get(prefix + "counter:" + k), on + " " + prefix + "counter:" + k);
            List<Long> expected = pushes.get(k);
            assertEquals(expected.size(), r.llen(prefix + "list:" + k), on + " LLEN " + prefix + "list:" + k);
            assertEquals(expected, r.lrange(prefix + "list:" + k, 0, -1).stream().map(Long::valueOf).toList(),
                    on + " " + prefix + "list:" + k);
            assertEquals(lastSet[k] < 0 ? null : String.valueOf(lastSet[k]), r.get(prefix + "set:" + k), on + " " + prefix + "set:" + k);
        }
    }

    @Override
    public void close() {
        stopping = true;
    }
}
