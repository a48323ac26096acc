package io.ferry.cli.verify;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Paces reads from one instance to at most a given number of keys per second, so a production Redis
 * does not feel {@code ferry verify}. Unused time is kept for at most a tenth of a second, so a pause
 * (a recheck wait, another instance's turn) is not followed by a burst.
 */
final class ReadThrottle {

    private static final long MAX_SAVED_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final long nanosPerPermit;
    private long nextFree = System.nanoTime();

    ReadThrottle(int permitsPerSecond) {
        if (permitsPerSecond <= 0) {
            throw new IllegalArgumentException("rate must be > 0, got " + permitsPerSecond);
        }
        this.nanosPerPermit = TimeUnit.SECONDS.toNanos(1) / permitsPerSecond;
    }

    /** Blocks until {@code permits} more reads fit under the rate. */
    void acquire(int permits) {
        long start = Math.max(nextFree, System.nanoTime() - MAX_SAVED_NANOS);
        nextFree = start + permits * nanosPerPermit;
        for (long wait = start - System.nanoTime(); wait > 0; wait = start - System.nanoTime()) {
            LockSupport.parkNanos(wait);
            if (Thread.currentThread().isInterrupted()) {
                throw new IllegalStateException("interrupted while pacing reads");
            }
        }
    }
}
