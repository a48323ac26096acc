package io.ferry.apply.resync;

import io.ferry.apply.batch.ChangeEventDecoder;
import io.ferry.apply.convergence.KeyId;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.KafkaEndpoint;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The keys of every write this instance holds, or will apply, that a resyncing origin had not applied when
 * its snapshot was taken: this instance's own writes past the origin's checkpoint of them, and every third
 * instance's writes past the origin's checkpoint of those (read from their changes topics up to their ends,
 * so writes this instance has consumed but not yet applied count too), each key with where its unseen writes
 * end in every partition read ({@link #unseenEnds}). Kept up to date by reading on from
 * where the last {@link #refresh} stopped. Bounded: past {@code maxKeys} keys or {@code maxRecords} records
 * it gives up ({@link #overflowed()}), and the caller must treat every key as guarded.
 */
final class UnseenWritesReader implements AutoCloseable {

    private final String self;
    private final long maxKeys;
    private final long maxRecords;
    private final ChangeEventDecoder decoder = new ChangeEventDecoder();
    /** One consumer per Kafka cluster: each instance's topic lives in its own (regional) Kafka. */
    private final Map<String, KafkaConsumer<byte[], byte[]>> consumers = new HashMap<>();
    private final Map<TopicPartition, KafkaConsumer<byte[], byte[]>> byPartition = new HashMap<>();
    /** The partitions read, each with its index in {@link #keys}' arrays and its instance. */
    private final Map<TopicPartition, Integer> slots = new HashMap<>();
    private final List<String> slotInstances = new ArrayList<>();
    private final List<Integer> slotPartitions = new ArrayList<>();
    /**
     * Keys a command the origin had not applied wrote, each with the offset of the last such write in every partition
     * read (by slot; -1: none there): what the origin must have applied before its value of the key holds them all.
     */
    private final Map<KeyId, long[]> keys = new HashMap<>();
    /** Keys only a snapshot (another instance's full resync, or first start) holds in the unseen range. */
    private final Set<KeyId> snapshotted = new HashSet<>();
    private long records;
    private boolean overflowed;
    /** Per replication id, the highest source offset this instance's own capture had published under it, as read so far. */
    private final Map<String, Long> ownPositions = new HashMap<>();

    /**
     * @param origin the resyncing instance; {@code vector} its applied vector at the snapshot
     * @param peers  every instance but this one (the origin's own topic is not read)
     */
    UnseenWritesReader(String self, InstanceConfig own, List<InstanceConfig> peers, String origin, AppliedVector vector,
                       long maxKeys, long maxRecords) {
        this.self = self;
        this.maxKeys = maxKeys;
        this.maxRecords = maxRecords;
        try {
            assign(own.kafka(), self, vector);
            for (InstanceConfig peer : peers) {
                if (!peer.id().equals(origin)) {
                    assign(peer.kafka(), peer.id(), vector);
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void assign(KafkaEndpoint kafka, String instance, AppliedVector vector) {
        KafkaConsumer<byte[], byte[]> consumer = consumers.computeIfAbsent(kafka.bootstrap(), b -> consumer(kafka));
        String topic = ReplicationPolicy.changesTopic(instance);
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
        if (infos == null) {
            return; // no topic yet: that instance has written nothing
        }
        List<TopicPartition> assigned = new ArrayList<>(consumer.assignment());
        List<TopicPartition> added = new ArrayList<>();
        for (PartitionInfo info : infos) {
            TopicPartition partition = new TopicPartition(topic, info.partition());
            assigned.add(partition);
            added.add(partition);
            byPartition.put(partition, consumer);
            slots.put(partition, slots.size());
            slotInstances.add(instance);
            slotPartitions.add(info.partition());
        }
        consumer.assign(assigned);
        Map<TopicPartition, Long> starts = consumer.beginningOffsets(added, Duration.ofSeconds(10));
        for (TopicPartition partition : added) {
            // the origin had applied up to this offset: everything after it is unseen by the snapshot
            long from = vector.applied(instance, partition.partition()) + 1;
            consumer.seek(partition, Math.max(from, starts.getOrDefault(partition, 0L)));
        }
    }

    private static KafkaConsumer<byte[], byte[]> consumer(KafkaEndpoint kafka) {
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false"); // reading must never create a topic
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Reads every assigned partition on to its current end (committed records only). */
    void refresh() {
        for (KafkaConsumer<byte[], byte[]> consumer : consumers.values()) {
            if (consumer.assignment().isEmpty()) {
                continue;
            }
            Map<TopicPartition, Long> ends = consumer.endOffsets(consumer.assignment(), Duration.ofSeconds(10));
            while (!overflowed && behind(consumer, ends)) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    take(record);
                }
            }
        }
    }

    private static boolean behind(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> ends) {
        for (Map.Entry<TopicPartition, Long> end : ends.entrySet()) {
            if (consumer.position(end.getKey(), Duration.ofSeconds(10)) < end.getValue()) {
                return true;
            }
        }
        return false;
    }

    private void take(ConsumerRecord<byte[], byte[]> record) {
        if (++records > maxRecords) {
            overflowed = true;
            return;
        }
        ChangeEvent event;
        try {
            event = decoder.decode(record.value());
        } catch (SerializationException e) {
            return; // dead-lettered by whoever applies it: it changes nothing there
        }
        boolean own = event.getOrigin().equals(self);
        if (own) {
            ownPositions.merge(event.getPosition().getReplid(), event.getPosition().getOffset(), Math::max);
        }
        EventKind kind = event.getKind();
        if (kind == EventKind.HEARTBEAT || kind == EventKind.SNAPSHOT_START || kind == EventKind.SNAPSHOT_END) {
            return;
        }
        if (kind == EventKind.SNAPSHOT_CHUNK && event.getChunk() != null) {
            add(snapshotted, event.getDb(), event.getChunk().getKey());
            return;
        }
        Integer slot = slots.get(new TopicPartition(record.topic(), record.partition()));
        for (ByteBuffer key : event.getKeys()) {
            KeyId id = keyId(event.getDb(), key);
            if (id == null) {
                continue;
            }
            if (kind == EventKind.SNAPSHOT_KEY) {
                snapshotted.add(id);
            } else {
                long[] ends = keys.computeIfAbsent(id, k -> newEnds());
                ends[slot] = Math.max(ends[slot], record.offset());
            }
            bounded();
        }
    }

    private long[] newEnds() {
        long[] ends = new long[slots.size()];
        Arrays.fill(ends, -1);
        return ends;
    }

    private void add(Set<KeyId> set, int db, ByteBuffer key) {
        KeyId id = keyId(db, key);
        if (id != null) {
            set.add(id);
            bounded();
        }
    }

    /** The key as read, or null for one of Ferry's own (never a user's write). */
    private static KeyId keyId(int db, ByteBuffer key) {
        byte[] bytes = new byte[key.remaining()];
        key.duplicate().get(bytes);
        return ReplicationPolicy.isReservedKey(bytes) ? null : new KeyId(db, bytes);
    }

    private void bounded() {
        if (keys.size() + snapshotted.size() > maxKeys) {
            overflowed = true;
            keys.clear();
            snapshotted.clear();
        }
    }

    /** What the origin had not applied of {@code key}. */
    enum Unseen {
        /** Nothing: the origin had seen every write to it. */
        NOTHING,
        /** A write (command) the origin had not applied; also every key once the reader overflowed. */
        WRITE,
        /**
         * Only another snapshot's copy of it: that instance resynced too and the origin had not applied its snapshot,
         * which holds that instance's unpublished gap writes to some keys, but which ones is unknown.
         */
        SNAPSHOT
    }

    Unseen unseen(KeyId key) {
        if (overflowed || keys.containsKey(key)) {
            return Unseen.WRITE;
        }
        return snapshotted.contains(key) ? Unseen.SNAPSHOT : Unseen.NOTHING;
    }

    /**
     * Where the unseen writes to {@code key} end: per partition read, the offset of the last one (the origin's
     * value of the key holds them all once it has applied these); empty when none was read (or after an overflow).
     */
    AppliedVector unseenEnds(KeyId key) {
        long[] ends = keys.get(key);
        if (ends == null) {
            return AppliedVector.EMPTY;
        }
        Map<String, Long> offsets = new HashMap<>();
        for (int slot = 0; slot < ends.length; slot++) {
            if (ends[slot] >= 0) {
                offsets.put(AppliedVector.entry(slotInstances.get(slot), slotPartitions.get(slot)), ends[slot]);
            }
        }
        return AppliedVector.of(offsets);
    }

    boolean overflowed() {
        return overflowed;
    }

    /**
     * Whether this instance's own capture had published, as read so far, every master's stream up to {@code points}
     * (a Redis Cluster's capture publishes each shard in a partition of its own, under that master's replication id).
     */
    boolean ownPublished(List<ReplicationPoint> points) {
        return points.stream().allMatch(point -> point.reachedBy(replid -> ownPositions.getOrDefault(replid, -1L)));
    }

    int size() {
        return keys.size() + snapshotted.size();
    }

    @Override
    public void close() {
        for (KafkaConsumer<byte[], byte[]> consumer : consumers.values()) {
            try {
                consumer.close(Duration.ofSeconds(5));
            } catch (RuntimeException ignored) {
                // closing only
            }
        }
    }
}
