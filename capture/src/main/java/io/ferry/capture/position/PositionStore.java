package io.ferry.capture.position;

import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.CapturePosition;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.ArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads a capture's last committed position from its compacted offsets topic (read_committed, so only
 * positions whose events were committed with them count). Call after the transactional producer's
 * initTransactions, which settles any transaction a previous process left open.
 */
public final class PositionStore {

    private PositionStore() {
    }

    /**
     * A committed position, the applied vector stored with it and the source's key count there
     * (header {@link ReplicationPolicy#SOURCE_KEYS_HEADER}; -1 when the record has none).
     */
    public record Stored(SourcePosition position, AppliedVector applied, long sourceKeys) {
    }

    public static Optional<Stored> load(Properties kafka, String instance, int shard, Duration timeout) {
        String key = ReplicationPolicy.positionKey(instance, shard);
        AvroSerde<CapturePosition> serde = AvroSerde.capturePositions();
        AtomicReference<Stored> last = new AtomicReference<>();
        scan(kafka, instance, timeout, record -> {
            if (record.key() != null && key.equals(new String(record.key(), StandardCharsets.UTF_8)) && record.value() != null) {
                Header applied = record.headers().lastHeader(ReplicationPolicy.APPLIED_HEADER);
                last.set(new Stored(serde.decode(record.value()).getPosition(),
                        AppliedVector.decode(applied == null ? null : applied.value()),
                        sourceKeys(record.headers().lastHeader(ReplicationPolicy.SOURCE_KEYS_HEADER))));
            }
        });
        return Optional.ofNullable(last.get());
    }

    /** Reads the committed records of {@code instance}'s offsets topic from its beginning to its current end. */
    private static void scan(Properties kafka, String instance, Duration timeout, Consumer<ConsumerRecord<byte[], byte[]>> each) {
        Properties props = new Properties();
        props.putAll(kafka);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "ferry-capture-" + instance + "-position-" + UUID.randomUUID());
        String topic = ReplicationPolicy.offsetsTopic(instance);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            Map<TopicPartition, Long> ends = consumer.endOffsets(List.of(partition), timeout);
            long end = ends.get(partition);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (consumer.position(partition, timeout) < end) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read " + topic + " to its end within " + timeout);
                }
                consumer.poll(Duration.ofMillis(200)).forEach(each);
            }
        }
    }

    /**
     * The offsets-topic record of a committed position: the position, the applied vector there and the
     * source's key count ({@code keys} < 0: unknown, no header). The capture writes one with every
     * transaction; {@code ferry join} writes the one a joined instance's capture starts from.
     */
    public static ProducerRecord<byte[], byte[]> record(String instance, int shard, SourcePosition position,
                                                        AppliedVector applied, long keys) {
        return record(instance, shard, position, applied, keys, null);
    }

    /**
     * The same for one shard of a Redis Cluster source: {@code shardNodes} (its node ids, see
     * {@link #shardNodes}) is stored with the position; null for a standalone source.
     */
    public static ProducerRecord<byte[], byte[]> record(String instance, int shard, SourcePosition position,
                                                        AppliedVector applied, long keys, String shardNodes) {
        CapturePosition value = new CapturePosition(instance, shard, position, Instant.now());
        List<Header> headers = new ArrayList<>(3);
        headers.add(new RecordHeader(ReplicationPolicy.APPLIED_HEADER, applied.encode()));
        if (keys >= 0) {
            headers.add(new RecordHeader(ReplicationPolicy.SOURCE_KEYS_HEADER, Long.toString(keys).getBytes(StandardCharsets.US_ASCII)));
        }
        if (shardNodes != null) {
            headers.add(new RecordHeader(ReplicationPolicy.SHARD_NODES_HEADER, shardNodes.getBytes(StandardCharsets.US_ASCII)));
        }
        return new ProducerRecord<>(ReplicationPolicy.offsetsTopic(instance), 0,
                ReplicationPolicy.positionKey(instance, shard).getBytes(StandardCharsets.UTF_8),
                AvroSerde.capturePositions().encode(value), headers);
    }

    /**
     * The node ids (master and replicas) of each Redis Cluster shard the capture of {@code instance} has
     * committed a position for, by partition, as last committed: how a restart recognises its shards.
     */
    public static Map<Integer, String> shardNodes(Properties kafka, String instance, Duration timeout) {
        Map<Integer, String> nodes = new java.util.TreeMap<>();
        AvroSerde<CapturePosition> serde = AvroSerde.capturePositions();
        scan(kafka, instance, timeout, record -> {
            Header header = record.headers().lastHeader(ReplicationPolicy.SHARD_NODES_HEADER);
            if (record.value() != null && header != null && header.value() != null) {
                CapturePosition position = serde.decode(record.value());
                if (instance.equals(position.getInstance()) && record.key() != null && ReplicationPolicy.positionKey(instance,
                        position.getShard()).equals(new String(record.key(), StandardCharsets.UTF_8))) {
                    nodes.put(position.getShard(), new String(header.value(), StandardCharsets.US_ASCII));
                }
            }
        });
        return nodes;
    }

    /** The key count header's value, -1 when missing or unreadable. */
    static long sourceKeys(Header header) {
        if (header == null || header.value() == null) {
            return -1;
        }
        try {
            return Math.max(-1, Long.parseLong(new String(header.value(), StandardCharsets.US_ASCII).trim()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
