package io.ferry.topology;

/**
 * How an apply agent batches and retries.
 *
 * @param maxBatchEvents     change events per MULTI/EXEC batch
 * @param retryBackoffMillis first wait after Redis became unreachable; doubled up to {@code maxBackoffMillis}
 * @param maxBackoffMillis   longest wait between retries
 */
public record ApplySettings(int maxBatchEvents, int retryBackoffMillis, int maxBackoffMillis) {

    public static ApplySettings defaults() {
        return new ApplySettings(500, 100, 5000);
    }
}
