package io.ferry.apply.convergence;

import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.KafkaEndpoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the peers' conflicts topics for requests addressed to this instance: a peer whose copy of a key
 * could not take one of this instance's writes (a TTL renewal after the key expired there, an SMOVE whose
 * source expired there) asks this instance, which holds the value, to re-publish it. Starts {@code lookback}
 * back in each topic when the agent starts (a request answered twice only re-publishes the key again);
 * never blocks the apply loop.
 */
final class RepairRequestReader implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RepairRequestReader.class);
    private static final long RETRY_NANOS = 5_000_000_000L;

    private final String self;
    private final Duration lookback;
    private final Map<String, KafkaConsumer<byte[], byte[]>> consumers = new LinkedHashMap<>();
    private final Map<String, List<String>> topicsByCluster = new LinkedHashMap<>();
    private final Map<String, Boolean> assigned = new LinkedHashMap<>();
    private final AvroSerde<Conflict> serde = AvroSerde.conflicts();
    private long nextAttempt;

    RepairRequestReader(String self, List<InstanceConfig> peers, Duration lookback) {
        this.self = self;
        this.lookback = lookback;
        for (InstanceConfig peer : peers) {
            KafkaEndpoint kafka = peer.kafka();
            consumers.computeIfAbsent(kafka.bootstrap(), b -> {
                Properties props = kafka.clientProperties();
                props.put(ConsumerConfig.CLIENT_ID_CONFIG, ReplicationPolicy.applyGroup(self) + "-repair-requests");
                props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
                props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
                props.remove(ConsumerConfig.GROUP_ID_CONFIG);
                return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            });
            topicsByCluster.computeIfAbsent(kafka.bootstrap(), b -> new ArrayList<>()).add(ReplicationPolicy.conflictsTopic(peer.id()));
        }
    }

    /** Requests addressed to this instance that arrived since the last call. */
    List<Conflict> poll() {
        assignMissing();
        List<Conflict> requests = new ArrayList<>();
        for (Map.Entry<String, KafkaConsumer<byte[], byte[]>> entry : consumers.entrySet()) {
            if (!assigned.getOrDefault(entry.getKey(), false)) {
                continue;
            }
            for (ConsumerRecord<byte[], byte[]> record : entry.getValue().poll(Duration.ZERO)) {
                try {
                    Conflict conflict = serde.decode(record.value());
                    if (Convergence.REQUESTED.equals(conflict.getResolution()) && self.equals(conflict.getWinner())
                            && conflict.getKey() != null) {
                        requests.add(conflict);
                    }
                } catch (RuntimeException e) {
                    LOG.debug("skipping a record of {} that is not a conflict: {}", record.topic(), e.toString());
                }
            }
        }
        return requests;
    }

    private void assignMissing() {
        long now = System.nanoTime();
        if (now < nextAttempt || !assigned.containsValue(false) && assigned.size() == consumers.size()) {
            return;
        }
        nextAttempt = now + RETRY_NANOS;
        for (Map.Entry<String, KafkaConsumer<byte[], byte[]>> entry : consumers.entrySet()) {
            if (assigned.getOrDefault(entry.getKey(), false)) {
                continue;
            }
            try {
                List<TopicPartition> partitions = new ArrayList<>();
                for (String topic : topicsByCluster.get(entry.getKey())) {
                    List<PartitionInfo> infos = entry.getValue().partitionsFor(topic, Duration.ofSeconds(2));
                    if (infos == null || infos.isEmpty()) {
                        partitions.clear();
                        break; // a peer's apply agent has not created its topic yet: try again later
                    }
                    infos.forEach(i -> partitions.add(new TopicPartition(topic, i.partition())));
                }
                if (!partitions.isEmpty()) {
                    // requests made while this agent was down or starting are still answered
                    OwnWritesReader.assignFrom(entry.getValue(), partitions, lookback);
                    assigned.put(entry.getKey(), true);
                } else {
                    assigned.put(entry.getKey(), false);
                }
            } catch (org.apache.kafka.common.errors.AuthorizationException e) {
                throw e; // a missing ACL: the agent stops and names it, it does not wait for it
            } catch (RuntimeException e) {
                assigned.put(entry.getKey(), false);
                LOG.debug("peers' conflicts topics not readable yet: {}", e.toString());
            }
        }
    }

    @Override
    public void close() {
        consumers.values().forEach(c -> c.close(Duration.ofSeconds(5)));
    }
}
