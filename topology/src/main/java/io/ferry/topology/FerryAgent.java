package io.ferry.topology;

/**
 * What every Ferry agent (capture, apply) offers whoever runs it — the CLI, the demo, the mains: a
 * lifecycle and its health, as served on {@code /readyz}.
 */
public interface FerryAgent extends AutoCloseable {

    /** Starts the agent's threads and returns at once. */
    void start();

    /** Null when connected and caught up enough to serve, otherwise a short reason. */
    String readiness();

    /** Why the agent stopped by itself (fenced, a gap in Kafka, refused credentials), or null. */
    String failure();

    /** True from {@link #start()} until the agent stops, by itself or by {@link #close()}. */
    boolean isRunning();

    /** Stops cleanly, committing what has been done. */
    @Override
    void close();
}
