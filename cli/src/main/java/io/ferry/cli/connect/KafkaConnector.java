package io.ferry.cli.connect;

import io.ferry.cli.ExitCode;
import io.ferry.cli.OperatorException;
import io.ferry.topology.KafkaAccess;
import io.ferry.topology.KafkaEndpoint;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The command line's view of one Kafka cluster: an admin client and group-less consumers (the CLI
 * never joins or moves an apply group). Every failure becomes an {@link OperatorException} that names
 * the bootstrap address and what to check.
 */
public final class KafkaConnector implements AutoCloseable {

    private static final int TIMEOUT_MS = 8000;

    private final KafkaEndpoint endpoint;
    private Admin admin;

    public KafkaConnector(KafkaEndpoint endpoint) {
        this.endpoint = endpoint;
    }

    public String bootstrap() {
        return endpoint.bootstrap();
    }

    public Admin admin() {
        if (admin == null) {
            Properties props = endpoint.clientProperties();
            props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(TIMEOUT_MS / 2));
            props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(TIMEOUT_MS));
            props.putIfAbsent(AdminClientConfig.CLIENT_ID_CONFIG, "ferry-cli");
            try {
                admin = Admin.create(props);
            } catch (RuntimeException e) {
                throw classify(e);
            }
        }
        return admin;
    }

    /** Fails with {@link ExitCode#KAFKA_UNREACHABLE} (or ACCESS_DENIED) unless a broker answers. */
    public void checkReachable() {
        call(() -> admin().describeCluster().nodes().get(TIMEOUT_MS, TimeUnit.MILLISECONDS));
    }

    /** The topic's partitions, or empty if the topic does not exist. */
    public Optional<List<TopicPartition>> partitions(String topic) {
        try {
            TopicDescription description = admin().describeTopics(List.of(topic)).allTopicNames()
                    .get(TIMEOUT_MS, TimeUnit.MILLISECONDS).get(topic);
            return Optional.of(description.partitions().stream()
                    .map(p -> new TopicPartition(topic, p.partition()))
                    .sorted(Comparator.comparingInt(TopicPartition::partition)).toList());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return Optional.empty();
            }
            throw classify(e.getCause());
        } catch (Exception e) {
            throw classify(e);
        }
    }

    /** The topic's partitions; a missing topic fails with {@link ExitCode#MISSING_TOPIC} and {@code whyMissing}. */
    public List<TopicPartition> requirePartitions(String topic, String whyMissing) {
        return partitions(topic).orElseThrow(() -> new OperatorException(ExitCode.MISSING_TOPIC,
                "topic " + topic + " does not exist in Kafka at " + bootstrap() + ": " + whyMissing));
    }

    /** A consumer outside any group that sees committed records only (Ferry writes in transactions). */
    public KafkaConsumer<byte[], byte[]> newConsumer() {
        Properties props = endpoint.clientProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // a command line waits for nobody: return what there is at once
        props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "50");
        props.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(TIMEOUT_MS / 2));
        props.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(TIMEOUT_MS));
        props.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "ferry-cli");
        try {
            return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        } catch (RuntimeException e) {
            throw classify(e);
        }
    }

    public Map<TopicPartition, Long> endOffsets(KafkaConsumer<?, ?> consumer, List<TopicPartition> partitions) {
        return call(() -> consumer.endOffsets(partitions));
    }

    public Map<TopicPartition, Long> beginningOffsets(KafkaConsumer<?, ?> consumer, List<TopicPartition> partitions) {
        return call(() -> consumer.beginningOffsets(partitions));
    }

    /** Runs a Kafka call and classifies what it throws. */
    public <T> T call(KafkaCall<T> call) {
        try {
            return call.run();
        } catch (ExecutionException e) {
            throw classify(e.getCause());
        } catch (org.apache.kafka.common.errors.WakeupException e) {
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OperatorException(ExitCode.FAILED, "interrupted while talking to Kafka at " + bootstrap(), e);
        } catch (Exception e) {
            throw classify(e);
        }
    }

    @FunctionalInterface
    public interface KafkaCall<T> {
        T run() throws Exception;
    }

    public OperatorException classify(Throwable e) {
        if (e instanceof OperatorException operator) {
            return operator;
        }
        String error = RedisFailures.rootMessage(e);
        if (e instanceof AuthenticationException) {
            return new OperatorException(ExitCode.ACCESS_DENIED, "Kafka at " + bootstrap() + " refused the credentials ("
                    + error + "). Check kafka.properties in the mesh file (security.protocol, sasl.mechanism, "
                    + "sasl.jaas.config, ssl.*).", e);
        }
        if (e instanceof AuthorizationException refused) {
            return new OperatorException(ExitCode.ACCESS_DENIED, KafkaAccess.explain(KafkaAccess.Role.OPERATOR, null, List.of(), 1,
                    KafkaAccess.principal(endpoint.properties()), refused) + " (Kafka at " + bootstrap() + ")", e);
        }
        if (e instanceof org.apache.kafka.common.errors.TimeoutException || e instanceof java.util.concurrent.TimeoutException
                || e instanceof KafkaException && error.contains("bootstrap")) {
            return new OperatorException(ExitCode.KAFKA_UNREACHABLE, "cannot reach Kafka at " + bootstrap() + " (no answer within "
                    + TIMEOUT_MS / 1000 + " s: " + error
                    + "). Check that the brokers are running and reachable from this host, the kafka.bootstrap address "
                    + "(or FERRY_KAFKA_BOOTSTRAP) and kafka.properties (security.protocol must match the listener).", e);
        }
        return new OperatorException(ExitCode.FAILED, "Kafka at " + bootstrap() + " failed: " + error, e);
    }

    @Override
    public void close() {
        if (admin != null) {
            admin.close(java.time.Duration.ofSeconds(2));
        }
    }
}
