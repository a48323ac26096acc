package io.ferry.e2e.cluster;

import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisAdvancedClusterAsyncCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Writes to a Redis Cluster through a cluster client (so keys land on every shard) and remembers what
 * each acknowledged write makes of its key: INCR of {@code c:<n>} (a count: a lost or doubled write
 * shows) and RPUSH of the write's number to {@code l:<n>} (a list: a reordered write shows too).
 */
final class Oracle implements AutoCloseable {

    private static final int COUNTERS = 300;
    private static final int LISTS = 100;
    private static final int BATCH = 100;

    private final RedisClusterClient client;
    private final StatefulRedisClusterConnection<String, String> connection;
    private final Map<String, Long> counters = new LinkedHashMap<>();
    private final Map<String, List<String>> lists = new LinkedHashMap<>();
    private final AtomicInteger written = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Thread writer;
    /** Writes stop at this count (see {@link #writeMoreThenStop}). */
    private volatile int total = Integer.MAX_VALUE;
    private volatile boolean stop;

    /** Starts writing to the cluster seeded at {@code port}, in pipelined batches, until told to stop. */
    Oracle(int port) {
        client = RedisClusterClient.create(RedisURI.create("redis://127.0.0.1:" + port));
        // a node added to the cluster is reached when a redirect names it
        client.setOptions(io.lettuce.core.cluster.ClusterClientOptions.builder().validateClusterNodeMembership(false).build());
        connection = client.connect();
        writer = new Thread(this::write, "oracle-writer");
        writer.start();
    }

    private void write() {
        RedisAdvancedClusterAsyncCommands<String, String> redis = connection.async();
        try {
            for (int start = 0; start < total && !stop; start += BATCH) {
                // a batch names each key once, so a command sent again after its batch keeps its key's order
                List<RedisFuture<?>> batch = new ArrayList<>();
                int end = Math.min(total, start + BATCH);
                for (int i = start; i < end; i++) {
                    batch.add(send(redis, i));
                }
                for (int k = 0; k < batch.size(); k++) {
                    awaitOrResend(redis, batch.get(k), start + k);
                }
                synchronized (this) {
                    for (int i = start; i < end; i++) {
                        if (i % 2 == 0) {
                            counters.merge(counter(i), 1L, Long::sum);
                        } else {
                            lists.computeIfAbsent(list(i), k -> new ArrayList<>()).add(Integer.toString(i));
                        }
                    }
                }
                written.set(end);
                Thread.sleep(3); // spread the writes over a while, so faults land mid-stream
            }
        } catch (Throwable t) {
            failure.set(t);
        }
    }

    private static RedisFuture<?> send(RedisAdvancedClusterAsyncCommands<String, String> redis, int i) {
        return i % 2 == 0 ? redis.incr(counter(i)) : redis.rpush(list(i), Integer.toString(i));
    }

    /**
     * Waits for write {@code i}; sends it again while the cluster answers with a redirect or TRYAGAIN
     * (the command did not run: a slot is changing owner faster than the client follows).
     */
    private static void awaitOrResend(RedisAdvancedClusterAsyncCommands<String, String> redis, RedisFuture<?> future, int i)
            throws Exception {
        for (int attempt = 0; ; attempt++) {
            try {
                future.get(30, TimeUnit.SECONDS);
                return;
            } catch (java.util.concurrent.ExecutionException e) {
                String message = String.valueOf(e.getCause().getMessage());
                boolean notRun = message.startsWith("MOVED") || message.startsWith("ASK") || message.startsWith("TRYAGAIN");
                if (!notRun || attempt >= 50) {
                    throw e;
                }
                Thread.sleep(20);
                future = send(redis, i);
            }
        }
    }

    private static String counter(int i) {
        return "c:" + (i / 2) % COUNTERS;
    }

    private static String list(int i) {
        return "l:" + (i / 2) % LISTS;
    }

    /** Up to {@code count} slots between {@code first} and {@code last} that hold keys this oracle writes. */
    static List<Integer> slotsWithKeys(int first, int last, int count) {
        java.util.TreeSet<Integer> slots = new java.util.TreeSet<>();
        for (int n = 0; n < COUNTERS; n++) {
            slots.add(io.ferry.resp.cluster.HashSlot.of(("c:" + n).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            if (n < LISTS) {
                slots.add(io.ferry.resp.cluster.HashSlot.of(("l:" + n).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            }
        }
        return slots.subSet(first, true, last, true).stream().limit(count).toList();
    }

    /** Lets the writer write {@code more} commands from now, then stop. */
    void writeMoreThenStop(int more) {
        total = written() + more;
    }

    int written() {
        return written.get();
    }

    /** Waits until every write is acknowledged; fails if any write failed (its effect would be unknown). */
    void awaitDone(Duration timeout) throws InterruptedException {
        writer.join(timeout.toMillis());
        if (writer.isAlive()) {
            throw new AssertionError("the writer did not finish within " + timeout + " (" + written() + " of " + total + ")");
        }
        if (failure.get() != null) {
            throw new AssertionError("a write failed after " + written() + " writes", failure.get());
        }
    }

    /** Every key's expected value: a counter's decimal text, a list's elements in order. */
    synchronized Map<String, Object> expected() {
        Map<String, Object> expected = new LinkedHashMap<>();
        counters.forEach((key, count) -> expected.put(key, Long.toString(count)));
        lists.forEach((key, elements) -> expected.put(key, List.copyOf(elements)));
        return expected;
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        writer.join(30_000);
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
}
