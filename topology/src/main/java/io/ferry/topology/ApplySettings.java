package io.ferry.topology;

/**
 * How an apply agent batches and retries.
 *
 * @param maxBatchEvents     change events per MULTI/EXEC batch
 * @param retryBackoffMillis first wait after Redis became unreachable; doubled up to {@code maxBackoffMillis}
 * @param maxBackoffMillis   longest wait between retries
 * @param republishGuardedKeys after a peer's full resync, ask it to re-publish the keys kept here because writes it had
 *                             not applied touched them, so the keys it also changed in its gap converge (off by
 *                             default: under repeated faults it has lost writes, see the README; off, such keys are
 *                             recorded and can stay different)
 */
public record ApplySettings(int maxBatchEvents, int retryBackoffMillis, int maxBackoffMillis, boolean republishGuardedKeys) {

    public static ApplySettings defaults() {
        return new ApplySettings(500, 100, 5000, false);
    }
}
