package io.ferry.capture.position;

import java.util.ArrayDeque;

/**
 * How long the capture could be away before its position leaves the source's replication backlog (and
 * the next connection becomes a full resync): the backlog's free room divided by the source's write
 * rate, the growth of {@code master_repl_offset} over the last 10 seconds. Fed by the INFO poller;
 * not thread-safe (one poller thread).
 */
public final class BacklogHeadroom {

    /** Reported when the source is idle or the backlog holds more than a day of its writes. */
    public static final double CAP_SECONDS = 86_400;
    private static final long WINDOW_NANOS = 10_000_000_000L;
    private static final long MIN_SPAN_NANOS = 1_000_000_000L;
    private static final long REPEAT_WARNING_NANOS = 600_000_000_000L;

    /** What a reading means for the log. */
    public enum Change { NONE, LOW, STILL_LOW, RECOVERED }

    private final ArrayDeque<long[]> samples = new ArrayDeque<>();
    private String replid;
    private boolean low;
    private long lastWarningNanos;

    /** One INFO reading: {@code offset} is the source's {@code master_repl_offset} at {@code nanos}. */
    public void observe(long nanos, String replid, long offset) {
        long[] last = samples.peekLast();
        if (replid == null || !replid.equals(this.replid) || last != null && offset < last[1]) {
            samples.clear(); // another history (restart, failover): its offsets say nothing about the old one's rate
            this.replid = replid;
        }
        samples.addLast(new long[] {nanos, offset});
        while (samples.size() > 2 && nanos - samples.peekFirst()[0] > WINDOW_NANOS) {
            samples.removeFirst();
        }
    }

    /** The source's write rate in bytes per second, NaN until a second of readings is in. */
    public double bytesPerSecond() {
        if (samples.size() < 2) {
            return Double.NaN;
        }
        long[] first = samples.peekFirst();
        long[] last = samples.peekLast();
        long span = last[0] - first[0];
        return span < MIN_SPAN_NANOS ? Double.NaN : (last[1] - first[1]) * 1e9 / span;
    }

    /**
     * Seconds of writes at the current rate the backlog can still take beyond the capture's committed
     * position ({@code lagBytes} behind the source), at most {@link #CAP_SECONDS}; NaN while unknown.
     */
    public double seconds(long backlogSize, double lagBytes) {
        double rate = bytesPerSecond();
        if (Double.isNaN(rate) || backlogSize <= 0) {
            return Double.NaN;
        }
        double room = Math.max(0, backlogSize - Math.max(0, lagBytes));
        return rate <= 0 ? CAP_SECONDS : Math.min(CAP_SECONDS, room / rate);
    }

    /**
     * Whether a reading of {@code seconds} against {@code thresholdSeconds} (0: never warn) is worth a log
     * line: dropping below it, still below it ten minutes after the last warning, or back above it.
     */
    public Change classify(double seconds, int thresholdSeconds, long nanos) {
        if (thresholdSeconds <= 0 || Double.isNaN(seconds)) {
            return Change.NONE;
        }
        if (seconds < thresholdSeconds) {
            if (!low) {
                low = true;
                lastWarningNanos = nanos;
                return Change.LOW;
            }
            if (nanos - lastWarningNanos >= REPEAT_WARNING_NANOS) {
                lastWarningNanos = nanos;
                return Change.STILL_LOW;
            }
            return Change.NONE;
        }
        if (low && seconds >= 2.0 * thresholdSeconds) { // hysteresis: no flapping around the threshold
            low = false;
            return Change.RECOVERED;
        }
        return Change.NONE;
    }
}
