package io.ferry.cli.lifecycle;

import io.ferry.capture.position.PositionStore;
import io.ferry.capture.publish.ChangePublisher;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.SourcePosition;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Holds an instance's capture off while it is joined or leaves: opening the capture's transactional ids
 * (those of every partition a cluster capture publishes to) fences a capture of that instance still running
 * (Kafka refuses its next transaction and it stops). A join then commits each partition's starting
 * position: the joined server's replication offset right after the copy, so the capture resumes there with
 * {@code PSYNC replid offset+1} and never publishes the copy.
 */
final class CaptureFence implements AutoCloseable {

    private final String instance;
    private final Map<Integer, List<KafkaProducer<byte[], byte[]>>> lanes = new TreeMap<>();

    CaptureFence(Properties kafka, String instance, Collection<Integer> partitions) {
        this.instance = instance;
        Properties props = new Properties();
        props.putAll(kafka);
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        try {
            for (int partition : new TreeSet<>(partitions)) {
                lanes.put(partition, ChangePublisher.openLanes(props, instance, partition));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Commits the position a partition's capture starts from, its applied vector, its source's key count and,
     * for a shard of a cluster, the shard's node ids (how the cluster capture finds its partition).
     */
    void commit(int partition, SourcePosition position, AppliedVector applied, long keys, String shardNodes) {
        KafkaProducer<byte[], byte[]> producer = lanes.get(partition).get(0);
        producer.beginTransaction();
        producer.send(PositionStore.record(instance, partition, position, applied, keys, shardNodes));
        producer.commitTransaction();
    }

    @Override
    public void close() {
        lanes.values().forEach(partition -> partition.forEach(p -> p.close(Duration.ofSeconds(5))));
    }
}
