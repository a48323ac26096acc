package io.ferry.apply.convergence;

import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.KafkaEndpoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads this instance's own changes topic (its local writes, as its capture published them) for
 * conflict detection. No consumer group: it starts {@code lookback} before now whenever the agent starts
 * and only needs what the peers may not have applied yet. Never blocks the apply loop.
 */
final class OwnWritesReader implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OwnWritesReader.class);
    private static final long RETRY_NANOS = 2_000_000_000L;

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String topic;
    private final Duration lookback;
    private boolean assigned;
    private long nextAttempt;

    OwnWritesReader(String self, KafkaEndpoint kafka, Duration lookback) {
        this.topic = ReplicationPolicy.changesTopic(self);
        this.lookback = lookback;
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, ReplicationPolicy.applyGroup(self) + "-own-writes");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        this.consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** What has arrived since the last call (nothing until the own topic exists). */
    List<ConsumerRecord<byte[], byte[]>> poll() {
        if (!assigned && !assign()) {
            return List.of();
        }
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ZERO);
        if (records.isEmpty()) {
            return List.of();
        }
        List<ConsumerRecord<byte[], byte[]>> list = new ArrayList<>(records.count());
        records.forEach(list::add);
        return list;
    }

    private boolean assign() {
        long now = System.nanoTime();
        if (now < nextAttempt) {
            return false;
        }
        nextAttempt = now + RETRY_NANOS;
        try {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(2));
            if (infos == null || infos.isEmpty()) {
                return false;
            }
            List<TopicPartition> partitions = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            assignFrom(consumer, partitions, lookback);
            assigned = true;
            LOG.info("conflict detection reads local writes from {} (from {} s back)", topic, lookback.toSeconds());
            return true;
        } catch (org.apache.kafka.common.errors.AuthorizationException e) {
            throw e; // a missing ACL: the agent stops and names it, it does not wait for it
        } catch (RuntimeException e) {
            LOG.debug("own changes topic {} not readable yet: {}", topic, e.toString());
            return false;
        }
    }

    /** Assigns {@code partitions} and positions each at its first record of the last {@code lookback} (the end if none). */
    static void assignFrom(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions, Duration lookback) {
        consumer.assign(partitions);
        long since = System.currentTimeMillis() - lookback.toMillis();
        Map<TopicPartition, Long> query = new java.util.LinkedHashMap<>();
        partitions.forEach(p -> query.put(p, since));
        Map<TopicPartition, OffsetAndTimestamp> starts = consumer.offsetsForTimes(query, Duration.ofSeconds(5));
        // the end as of now, not as of the first fetch (seekToEnd is lazy and would skip what arrives meanwhile)
        Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, Duration.ofSeconds(5));
        for (TopicPartition partition : partitions) {
            OffsetAndTimestamp start = starts.get(partition);
            consumer.seek(partition, start != null ? start.offset() : ends.get(partition));
        }
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }
}
