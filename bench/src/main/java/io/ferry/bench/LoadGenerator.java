package io.ferry.bench;

import io.ferry.resp.RespBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.LockSupport;

/**
 * Writes a workload to the source over one pipelined connection per shard (see {@link SourcePipes}), either as fast as Redis takes it
 * (closed loop, bounded in flight) or open loop at a fixed rate: item i is due at start + i/rate whether
 * or not earlier items have been answered, so a stall shows up as latency instead of hiding it
 * (no coordinated omission). Every few milliseconds it adds a progress marker on every shard (see
 * {@link MarkerLog}, {@link SlotRouting}).
 * Sequence numbers run on across runs, so keys never repeat within a benchmark.
 */
final class LoadGenerator {

    static final String MARKER_KEY = "bench:seq";
    private static final byte[] SET = "SET".getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_BATCH = 1024;
    private static final long MAX_IN_FLIGHT_REPLIES = 64 * 1024;

    private final SourcePipes pipes;
    private final SlotRouting routing;
    private final MarkerLog markers = new MarkerLog();
    private final long markerIntervalNanos;
    /** One batch per shard, sent on that shard's pipe. */
    private final RespBuffer[] buffers;
    private long nextSeq;
    private long repliesExpected;
    private long opsSent;
    private long bytesSent;
    private long markersSent;

    LoadGenerator(SourcePipes pipes, long markerIntervalMillis) {
        this.pipes = pipes;
        this.routing = pipes.routing();
        this.markerIntervalNanos = markerIntervalMillis * 1_000_000L;
        this.buffers = new RespBuffer[pipes.shards()];
        for (int i = 0; i < buffers.length; i++) {
            buffers[i] = new RespBuffer();
        }
    }

    /** What one run did. */
    record Run(String workload, double offeredRate, long firstSeq, long items, long ops, long bytes,
               long startNanos, long endNanos) {

        double seconds() {
            return (endNanos - startNanos) / 1e9;
        }

        /** Commands the source accepted per second during the run. */
        double achievedOpsPerSecond() {
            return ops / seconds();
        }

        double itemsPerSecond() {
            return items / seconds();
        }
    }

    /**
     * Writes {@code workload} from {@code startNanos} (a System.nanoTime value, may be slightly in the
     * future so a recorder can be armed first) for {@code seconds} or until {@code maxItems}, at
     * {@code rate} items per second ({@code rate <= 0}: as fast as possible). Returns once every reply arrived.
     */
    Run run(Workload workload, double rate, double seconds, long maxItems, long startNanos) {
        return run(workload, rate, seconds, maxItems, startNanos, 0);
    }

    /**
     * As {@link #run(Workload, double, double, long, long)}, sending at most every {@code granularityNanos}
     * (throughput windows use a millisecond: fewer wake-ups, so the generator takes less of the CPU the
     * systems under test share; latency runs use 0, every item leaves on time).
     */
    Run run(Workload workload, double rate, double seconds, long maxItems, long startNanos, long granularityNanos) {
        long firstSeq = nextSeq;
        long opsBefore = opsSent;
        long bytesBefore = bytesSent;
        long end = startNanos + (long) (seconds * 1e9);
        double periodNanos = rate > 0 ? 1e9 / rate : 0;
        while (System.nanoTime() < startNanos) {
            LockSupport.parkNanos(Math.max(10_000, (startNanos - System.nanoTime()) / 2));
        }
        long nextMarker = startNanos;
        long sent = 0;
        while (sent < maxItems) {
            long now = System.nanoTime();
            if (now >= end) {
                break;
            }
            long due = rate > 0 ? Math.min(maxItems, (long) ((now - startNanos) / periodNanos) + 1) : maxItems;
            long batch = Math.min(due - sent, MAX_BATCH);
            if (rate <= 0 || repliesExpected - pipes.replies() > MAX_IN_FLIGHT_REPLIES) {
                // closed loop (or a source that fell far behind): wait for replies instead of piling up
                while (repliesExpected - pipes.replies() > MAX_IN_FLIGHT_REPLIES / 2 && System.nanoTime() < end) {
                    LockSupport.parkNanos(50_000);
                }
            }
            if (batch <= 0 || (granularityNanos > 0 && batch * periodNanos < granularityNanos && due < maxItems)) {
                long wait = batch <= 0 ? (long) (startNanos + sent * periodNanos) - now
                        : granularityNanos - (long) (batch * periodNanos);
                LockSupport.parkNanos(Math.max(20_000, Math.min(wait, 1_000_000)));
                continue;
            }
            clearBuffers();
            for (long i = 0; i < batch; i++) {
                RespBuffer buffer = buffers.length == 1 ? buffers[0] : buffers[routing.shardOf(workload.routingKey(nextSeq))];
                Workload.Shape shape = workload.encode(nextSeq++, buffer);
                repliesExpected += shape.replies;
                opsSent += shape.ops;
            }
            sent += batch;
            if (now >= nextMarker) {
                appendMarker(now);
                nextMarker = now + markerIntervalNanos;
            }
            sendBuffers();
        }
        long stop = System.nanoTime();
        clearBuffers();
        appendMarker(stop);
        sendBuffers();
        pipes.awaitReplies(repliesExpected, 120_000);
        return new Run(workload.name(), rate, firstSeq, sent, opsSent - opsBefore, bytesSent - bytesBefore,
                startNanos, stop);
    }

    private void clearBuffers() {
        for (RespBuffer buffer : buffers) {
            buffer.clear();
        }
    }

    /** Each shard's batch on its own pipe; the bytes of markers count as sent too. */
    private void sendBuffers() {
        for (int shard = 0; shard < buffers.length; shard++) {
            if (buffers[shard].size() > 0) {
                bytesSent += buffers[shard].size();
                pipes.pipe(shard).send(buffers[shard]);
            }
        }
    }

    /** Every shard's marker after that shard's items: the target has all before nextSeq once each shows it. */
    private void appendMarker(long now) {
        for (int shard = 0; shard < buffers.length; shard++) {
            buffers[shard].command(3).bulk(SET).bulk(routing.markerKeys().get(shard)).bulk(nextSeq);
        }
        repliesExpected += buffers.length;
        markersSent += buffers.length;
        markers.add(nextSeq, now);
    }

    MarkerLog markers() {
        return markers;
    }

    /** The sequence the next item will get; the target is caught up when it shows this in {@link #MARKER_KEY}. */
    long nextSeq() {
        return nextSeq;
    }

    /** Every write command sent so far, progress markers included. */
    long writes() {
        return opsSent + markersSent;
    }

    long errors() {
        return pipes.errors();
    }

    String lastError() {
        return pipes.lastError();
    }
}
