package io.ferry.cli.lifecycle;

import io.ferry.cli.ExitCode;
import io.ferry.cli.OperatorException;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.KafkaEndpoint;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Group-less, read_committed reads of one changes partition that a join needs (partition 0 unless named). */
final class TopicScan implements AutoCloseable {

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final TopicPartition partition;
    private final String kafka;

    TopicScan(KafkaEndpoint kafka, String origin) {
        this(kafka, origin, 0);
    }

    TopicScan(KafkaEndpoint kafka, String origin, int partitionNumber) {
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "ferry-join-" + UUID.randomUUID());
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(8 * 1024 * 1024));
        this.consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.partition = new TopicPartition(ReplicationPolicy.changesTopic(origin), partitionNumber);
        this.kafka = kafka.bootstrap();
        consumer.assign(List.of(partition));
    }

    long beginning() {
        return consumer.beginningOffsets(List.of(partition), Duration.ofSeconds(30)).get(partition);
    }

    long end() {
        return consumer.endOffsets(List.of(partition), Duration.ofSeconds(30)).get(partition);
    }

    /** Whether the partition's last committed record marks it retired ({@link ReplicationPolicy#RETIRED_HEADER}). */
    boolean endsRetired() {
        long begin = beginning();
        long end = end();
        // the mark is the last record; commit markers after it take an offset each
        consumer.seek(partition, Math.max(begin, end - 64));
        ConsumerRecord<byte[], byte[]> last = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (consumer.position(partition) < end && System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200)).records(partition)) {
                last = record;
            }
        }
        return last != null && last.headers().lastHeader(ReplicationPolicy.RETIRED_HEADER) != null;
    }

    /**
     * The checkpoint matching a copy of the topic's origin taken at {@code replid:copyOffset}; waits up to
     * {@code timeout} for the origin's capture to publish past it. Reads backwards from the end in growing
     * windows until a window starts at or before the copy, then forwards from there: only the records
     * written since the copy and one window are read, however long the topic.
     */
    long checkpointAt(String replid, long copyOffset, Duration timeout) {
        CopyPointMatcher matcher = new CopyPointMatcher(replid, copyOffset);
        AvroSerde<ChangeEvent> serde = AvroSerde.changeEvents();
        long begin = beginning();
        long end = end();
        long from = end;
        for (long window = 1_000; from > begin; window *= 4) {
            from = Math.max(begin, end - window);
            ChangeEvent first = firstFrom(from, end, serde);
            if (first != null && matcher.atOrBefore(first.getPosition().getReplid(), first.getPosition().getOffset())) {
                break;
            }
        }
        consumer.seek(partition, from);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                ChangeEvent event = serde.decode(record.value());
                OptionalLong checkpoint = matcher.next(record.offset(), event.getKind(), event.getPosition().getReplid(),
                        event.getPosition().getOffset());
                if (checkpoint.isPresent()) {
                    return checkpoint.getAsLong();
                }
            }
        }
        throw new OperatorException(ExitCode.NOT_READY, partition + " (Kafka " + kafka + ") has nothing past the copy's"
                + " replication offset " + replid + ":" + copyOffset + " after " + timeout.toSeconds() + " s: the peer's capture"
                + " must be running and caught up while it is joined from. Check it (ferry status) and run the join again.");
    }

    /** The first committed record at or after {@code from} and before {@code end}, or null when there is none. */
    private ChangeEvent firstFrom(long from, long end, AvroSerde<ChangeEvent> serde) {
        consumer.seek(partition, from);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (consumer.position(partition) < end && System.nanoTime() < deadline) {
            List<ConsumerRecord<byte[], byte[]>> records = consumer.poll(Duration.ofMillis(200)).records(partition);
            if (!records.isEmpty()) {
                return serde.decode(records.get(0).value());
            }
        }
        return null;
    }

    /**
     * Whether a target has applied every committed record of the partition: those at or below its whole
     * {@code checkpoint}, and each later one in every slot of its keys ({@code slotApplied}: the target's
     * per-slot checkpoint, -1 where it has none; a Redis Cluster target's whole checkpoint trails its slots'
     * by a batch). Heartbeats need no applying.
     */
    boolean appliedToEnd(long checkpoint, java.util.function.IntToLongFunction slotApplied) {
        long end = end();
        if (checkpoint + 1 >= end) {
            return true;
        }
        AvroSerde<ChangeEvent> serde = AvroSerde.changeEvents();
        consumer.seek(partition, checkpoint + 1);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (consumer.position(partition) < end && System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                ChangeEvent event = serde.decode(record.value());
                if (event.getKind() == EventKind.HEARTBEAT) {
                    continue;
                }
                if (event.getKeys().isEmpty()) {
                    return false;
                }
                for (java.nio.ByteBuffer key : event.getKeys()) {
                    byte[] bytes = new byte[key.remaining()];
                    key.duplicate().get(bytes);
                    if (slotApplied.applyAsLong(io.ferry.resp.cluster.HashSlot.of(bytes)) < record.offset()) {
                        return false;
                    }
                }
            }
        }
        return consumer.position(partition) >= end;
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(2));
    }
}
