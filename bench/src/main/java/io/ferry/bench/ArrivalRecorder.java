package io.ferry.bench;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespMessage;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.HdrHistogram.Histogram;

/**
 * End-to-end latency as the target sees it: subscribes to the target's keyspace events for SET
 * ({@code notify-keyspace-events E$}); each event names a key {@code lat:<seq>}, and its latency is the
 * arrival time minus the time the load generator was DUE to send item seq (its intended start time, so
 * a stalled sender or source cannot hide latency: coordinated omission is corrected by construction).
 * Redis publishes the event while executing the command, so arrival = visibility on the target plus
 * one loopback hop, the same for native replication and Ferry.
 */
final class ArrivalRecorder implements AutoCloseable {

    private static final byte[] PREFIX = "lat:".getBytes(StandardCharsets.US_ASCII);

    private final RedisConnection connection;
    private final Thread reader;
    private final Histogram histogram = new Histogram(3);
    private volatile long firstSeq = Long.MAX_VALUE;
    private volatile long lastSeq = Long.MIN_VALUE;
    private volatile long startNanos;
    private volatile double periodNanos;
    private volatile long received;
    private volatile long maxSeqSeen = -1;
    private volatile boolean closing;
    private java.util.BitSet seen = new java.util.BitSet();

    ArrivalRecorder(int port) throws IOException {
        connection = RedisConnection.open(new RedisEndpoint("127.0.0.1", port, false, null, null), 5000);
        RespMessage confirmation = connection.call("SUBSCRIBE", "__keyevent@0__:set");
        if (!(confirmation instanceof RespMessage.Array reply) || reply.items().isEmpty()
                || !(reply.items().get(0) instanceof byte[] kind) || !"subscribe".equals(new String(kind, StandardCharsets.US_ASCII))) {
            connection.close();
            throw new IOException("SUBSCRIBE was not confirmed");
        }
        connection.setReadTimeout(0); // events come whenever the target applies a write
        reader = new Thread(this::readLoop, "bench-arrivals-" + port);
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Arms the recorder for items {@code firstSeq..lastSeq} (inclusive) due at
     * {@code startNanos + (seq - runFirstSeq) * periodNanos}; items before {@code firstSeq} are warm-up.
     */
    synchronized void arm(long runFirstSeq, long firstSeq, long lastSeq, long startNanos, double periodNanos) {
        histogram.reset();
        received = 0;
        seen = new java.util.BitSet();
        this.startNanos = startNanos - (long) (runFirstSeq * periodNanos);
        this.periodNanos = periodNanos;
        this.firstSeq = firstSeq;
        this.lastSeq = lastSeq;
    }

    private void readLoop() {
        try {
            while (true) {
                RespMessage message = connection.readReply();
                long now = System.nanoTime();
                if (message instanceof RespMessage.Command pushed && pushed.argv().length == 3) {
                    byte[][] push = pushed.argv();
                    if (startsWith(push[2], PREFIX)) {
                        record(parseSeq(push[2]), now);
                    }
                }
            }
        } catch (IOException e) {
            if (!closing) {
                System.err.println("keyspace event reader stopped: " + e);
            }
        }
    }

    private synchronized void record(long seq, long now) {
        maxSeqSeen = Math.max(maxSeqSeen, seq);
        if (seq < firstSeq || seq > lastSeq) {
            return;
        }
        if (seen.get((int) (seq - firstSeq))) {
            return;
        }
        seen.set((int) (seq - firstSeq));
        long intended = startNanos + (long) (seq * periodNanos);
        histogram.recordValue(Math.max(1, (now - intended) / 1000));
        received++;
    }

    /** Latencies in microseconds of the armed items seen so far. */
    synchronized Histogram snapshot() {
        return histogram.copy();
    }

    synchronized long received() {
        return received;
    }

    /** The first few armed sequence numbers that have not arrived, for diagnosing a gap. */
    synchronized String missingSample() {
        StringBuilder out = new StringBuilder();
        int shown = 0;
        for (int i = seen.nextClearBit(0); i <= lastSeq - firstSeq && shown < 5; i = seen.nextClearBit(i + 1), shown++) {
            out.append(firstSeq + i).append(' ');
        }
        return out.toString().trim();
    }

    long maxSeqSeen() {
        return maxSeqSeen;
    }

    private static boolean startsWith(byte[] value, byte[] prefix) {
        if (value.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (value[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private static long parseSeq(byte[] key) {
        long seq = 0;
        for (int i = PREFIX.length; i < key.length; i++) {
            seq = seq * 10 + (key[i] - '0');
        }
        return seq;
    }

    @Override
    public void close() {
        closing = true;
        connection.close();
    }
}
