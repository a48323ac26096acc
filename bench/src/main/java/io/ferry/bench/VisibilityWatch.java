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
 * Polls the target's progress markers (one per source shard, see {@link SlotRouting}): which source
 * writes are visible there (the lowest marker: shards are delivered independently), and how long the oldest
 * invisible one has been waiting (the replication lag, in seconds, measured the same way for native
 * replication and for Ferry).
 */
final class VisibilityWatch implements AutoCloseable {

    /** One poll: at {@code nanos} the target showed {@code seq}, and writes after it had waited {@code lagNanos}. */
    record Sample(long nanos, long seq, long lagNanos) {
    }

    private final RedisConnection connection;
    private final byte[][] mget;
    private final MarkerLog markers;
    private final long pollNanos;
    private final Thread poller;
    private final List<Sample> samples = new ArrayList<>();
    private volatile long seenSeq = -1;
    private volatile long seenAtNanos;
    private volatile boolean running = true;

    VisibilityWatch(int port, List<byte[]> markerKeys, MarkerLog markers, long pollMillis) {
        try {
            this.connection = RedisConnection.open(new RedisEndpoint("127.0.0.1", port, false, null, null), 60_000);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot connect to redis at 127.0.0.1:" + port, e);
        }
        this.mget = new byte[markerKeys.size() + 1][];
        mget[0] = "MGET".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < markerKeys.size(); i++) {
            mget[i + 1] = markerKeys.get(i);
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
                RespMessage reply = connection.call(mget);
                long now = System.nanoTime();
                long seq = lowest(reply);
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

    /** The lowest marker in an MGET reply; -1 while a shard's marker is missing. */
    private static long lowest(RespMessage reply) {
        // an all-bulk array decodes as a Command (argv); one with a null in it as an Array
        List<?> values = reply instanceof RespMessage.Command all ? List.of(all.argv())
                : reply instanceof RespMessage.Array array ? array.items() : null;
        if (values == null) {
            throw new IllegalStateException("MGET answered " + reply);
        }
        long lowest = Long.MAX_VALUE;
        for (Object item : values) {
            byte[] value = item instanceof byte[] bytes ? bytes : null;
            lowest = Math.min(lowest, value == null ? -1 : Long.parseLong(new String(value, StandardCharsets.US_ASCII)));
        }
        return lowest;
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
