package io.ferry.localmesh;

/** A real Kafka broker the demo or a test talks to; {@link #stop()} and {@link #start()} simulate an outage. */
public interface KafkaCluster extends AutoCloseable {

    String bootstrap();

    /** Starts (or restarts after {@link #stop()}) the broker on the same address, keeping its data. */
    void start();

    void stop();

    @Override
    default void close() {
        stop();
    }
}
