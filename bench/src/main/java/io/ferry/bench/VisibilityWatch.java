package io.ferry.bench;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespMessage;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
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

    private final RedisConnection connection;
    private final MarkerLog markers;
    private final long pollNanos;
    private final Thread poller;
    private final List<Sample> samples = new ArrayList<>();
    private volatile long seenSeq = -1;
    private volatile long seenAtNanos;
    private volatile boolean running = true;

    VisibilityWatch(int port, MarkerLog markers, long pollMillis) {
        try {
            this.connection = RedisConnection.open(new RedisEndpoint("127.0.0.1", port, false, null, null), 60_000);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot connect to redis at 127.0.0.1:" + port, e);
        }
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
                RespMessage reply = connection.call("GET", LoadGenerator.MARKER_KEY);
                long now = System.nanoTime();
                byte[] value = reply instanceof RespMessage.BulkString bulk ? bulk.bytes() : null;
                long seq = value == null ? -1 : Long.parseLong(new String(value, StandardCharsets.US_ASCII));
                if (seq != seenSeq) {
                    seenAtNanos = now;
                }
                seenSeq = seq;
                synchronized (samples) {
                    samples.add(new Sample(now, seq, markers.lagNanos(seq, now)));
                }
            } catch (IOException | RuntimeException e) {
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
    }
}
