package io.ferry.topology;

import java.util.Map;
import java.util.Properties;

/**
 * The Kafka cluster an instance's topics live in. {@code properties} go to every client as they are
 * (security.protocol, ssl.*, sasl.*); secrets in them can use Kafka's own config providers, for
 * example {@code config.providers=env} and {@code ${env:KAFKA_PASSWORD}}.
 */
public record KafkaEndpoint(String bootstrap, Map<String, String> properties) {

    public KafkaEndpoint {
        properties = Map.copyOf(properties);
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
