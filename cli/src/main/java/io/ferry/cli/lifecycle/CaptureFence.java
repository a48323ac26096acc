package io.ferry.cli.lifecycle;

import io.ferry.capture.position.PositionStore;
import io.ferry.capture.publish.ChangePublisher;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.SourcePosition;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Holds an instance's capture off while it is joined or leaves: opening the capture's transactional ids
 * fences a capture of that instance still running (Kafka refuses its next transaction and it stops). A
 * join then commits the capture's starting position: the joined Redis's replication offset right after
 * the copy, so the capture resumes there with {@code PSYNC replid offset+1} and never publishes the copy.
 */
final class CaptureFence implements AutoCloseable {

    private static final int SHARD = 0;

    private final String instance;
    private final List<KafkaProducer<byte[], byte[]>> lanes;

    CaptureFence(Properties kafka, String instance) {
        this.instance = instance;
        Properties props = new Properties();
        props.putAll(kafka);
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        this.lanes = ChangePublisher.openLanes(props, instance, SHARD);
    }

    /** Commits the position the capture starts from, its applied vector and the copy's key count. */
    void commit(SourcePosition position, AppliedVector applied, long keys) {
        KafkaProducer<byte[], byte[]> producer = lanes.get(0);
        producer.beginTransaction();
        producer.send(PositionStore.record(instance, SHARD, position, applied, keys));
        producer.commitTransaction();
    }

    @Override
    public void close() {
        lanes.forEach(p -> p.close(Duration.ofSeconds(5)));
    }
}
