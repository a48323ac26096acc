package io.ferry.bench;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Polls the target's progress marker: which source writes are visible there, and how long the oldest
 * invisible one has been waiting (the replication lag, in seconds, measured the same way for native
 * replication and for Ferry).
 */
final class VisibilityWatch implements AutoCloseable {

    /** One poll: at {@code nanos} the target showed {@code seq}, and writes after it had waited {@code lagNanos}. */
    record Sample(long nanos, long seq, long lagNanos) {
    }

    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;
    private final MarkerLog markers;
    private final long pollNanos;
    private final Thread poller;
    private final List<Sample> samples = new ArrayList<>();
    private volatile long seenSeq = -1;
    private volatile long seenAtNanos;
    private volatile boolean running = true;

    VisibilityWatch(int port, MarkerLog markers, long pollMillis) {
        this.client = RedisClient.create(RedisURI.create("127.0.0.1", port));
        this.connection = client.connect();
        this.markers = markers;
        this.pollNanos = pollMillis * 1_000_000L;
        this.poller = new Thread(this::pollLoop, "bench-visibility-" + port);
        poller.setDaemon(true);
        poller.start();
    }

    private void pollLoop() {
        while (running) {
            long started = System.nanoTime();
            try {
                String value = connection.sync().get(LoadGenerator.MARKER_KEY);
                long now = System.nanoTime();
                long seq = value == null ? -1 : Long.parseLong(value);
                if (seq != seenSeq) {
                    seenAtNanos = now;
                }
                seenSeq = seq;
                synchronized (samples) {
                    samples.add(new Sample(now, seq, markers.lagNanos(seq, now)));
                }
            } catch (RuntimeException e) {
                if (!running) {
                    return;
                }
            }
            long rest = pollNanos - (System.nanoTime() - started);
            if (rest > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(rest);
            }
        }
    }

    long seenSeq() {
        return seenSeq;
    }

    /** When the marker last changed. */
    long seenAtNanos() {
        return seenAtNanos;
    }

    List<Sample> between(long fromNanos, long toNanos) {
        synchronized (samples) {
            return samples.stream().filter(s -> s.nanos() >= fromNanos && s.nanos() <= toNanos).toList();
        }
    }

    /** Waits until the target shows {@code seq}; true if it did within {@code timeout}. */
    boolean awaitSeq(long seq, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (seenSeq >= seq) {
                return true;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
        }
        return seenSeq >= seq;
    }

    @Override
    public void close() {
        running = false;
        try {
            poller.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
}
