package io.ferry.localmesh;

/** A real Kafka broker the demo or a test talks to; {@link #stop()} and {@link #start()} simulate an outage. */
public interface KafkaCluster extends AutoCloseable {

    String bootstrap();

    /** What a mesh file's {@code kafka.properties} needs besides the bootstrap (security settings); none for PLAINTEXT. */
    default java.util.Map<String, String> meshProperties() {
        return java.util.Map.of();
    }

    /** Starts (or restarts after {@link #stop()}) the broker on the same address, keeping its data. */
    void start();

    void stop();

    @Override
    default void close() {
        stop();
    }
}
