package io.ferry.topology;

import java.util.Map;
import java.util.Properties;

/**
 * The Kafka cluster an instance's topics live in. {@code properties} go to every client as they are
 * (security.protocol, ssl.*, sasl.*); secrets in them can use Kafka's own config providers, for
 * example {@code config.providers=env} and {@code ${env:KAFKA_PASSWORD}}.
 *
 * @param retentionHours how long the changes topics keep records ({@code retention.ms}): an instance
 *                       down longer than this cannot catch up from Kafka and must re-join; -1 keeps them
 *                       forever
 */
public record KafkaEndpoint(String bootstrap, Map<String, String> properties, long retentionHours) {

    /** Seven days: a regional outage of several days is caught up from Kafka. */
    public static final long DEFAULT_RETENTION_HOURS = 168;

    public KafkaEndpoint {
        properties = Map.copyOf(properties);
    }

    /** An endpoint with the default retention. */
    public KafkaEndpoint(String bootstrap, Map<String, String> properties) {
        this(bootstrap, properties, DEFAULT_RETENTION_HOURS);
    }

    /** {@code retention.ms} for the changes topics: the hours in milliseconds, or -1 (no time limit). */
    public long retentionMillis() {
        return retentionHours < 0 ? -1 : retentionHours * 3_600_000L;
    }

    /** Client properties: bootstrap plus the configured security settings. */
    public Properties clientProperties() {
        Properties props = new Properties();
        props.putAll(properties);
        props.put("bootstrap.servers", bootstrap);
        return props;
    }

    @Override
    public String toString() {
        return bootstrap;
    }
}
