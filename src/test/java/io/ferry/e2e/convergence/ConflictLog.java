package io.ferry.e2e.convergence;

import io.ferry.e2e.mesh.MeshUnderTest;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.ConflictingWrite;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Every instance's {@code ferry.<id>.conflicts} topic, read incrementally by one consumer (read_committed),
 * so tests can poll for a conflict without re-reading the topics from the start each time.
 */
final class ConflictLog implements AutoCloseable {

    /**
     * A conflict as recorded, with the instance whose apply agent recorded it; only what the tests
     * check and print is kept (a storm of repairs can record hundreds of thousands).
     */
    record Entry(String applier, String key, String type, String resolution, String policy, String winner, Side write, Side other) {

        static Entry of(String applier, Conflict c) {
            ByteBuffer key = c.getKey();
            return new Entry(applier, key == null ? "" : StandardCharsets.UTF_8.decode(key.duplicate()).toString(), c.getType(),
                    c.getResolution(), c.getPolicy(), c.getWinner(), Side.of(c.getWrite()), Side.of(c.getOther()));
        }

        @Override
        public String toString() {
            return "conflict on " + key + " recorded by " + applier + ": " + type + " " + resolution + ", policy '" + policy
                    + "', winner " + winner + ", write " + write + ", other " + other;
        }
    }

    /** One of a conflict's two writes: its origin, source time and command. */
    record Side(String origin, long timeMillis, String command) {

        static Side of(ConflictingWrite write) {
            if (write == null) {
                return null;
            }
            String command = write.getCommand() == null ? "?" : write.getCommand().getName() + write.getCommand().getArgs().stream()
                    .map(a -> " " + StandardCharsets.UTF_8.decode(a.duplicate())).collect(Collectors.joining());
            return new Side(write.getOrigin(), write.getTimeMillis(), command.length() > 80 ? command.substring(0, 80) + "…" : command);
        }

        @Override
        public String toString() {
            return origin + "@" + timeMillis + " " + command;
        }
    }

    private final MeshUnderTest mesh;
    private final KafkaConsumer<byte[], byte[]> consumer;
    /** One serde for every record: building one resolves every released schema, far slower than a decode. */
    private final AvroSerde<Conflict> serde = AvroSerde.conflicts();
    private final Set<TopicPartition> assigned = new HashSet<>();
    private final List<Entry> entries = new ArrayList<>();

    ConflictLog(MeshUnderTest mesh) {
        this.mesh = mesh;
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, mesh.local().kafka().bootstrap());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        // a storm of repairs can record hundreds of thousands of conflicts: read them in large batches
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "20000");
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(16 * 1024 * 1024));
        props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(64 * 1024 * 1024));
        consumer = new KafkaConsumer<>(props);
    }

    /** Everything recorded so far: reads each conflicts topic up to its current end. */
    synchronized List<Entry> read() {
        assignNewPartitions();
        if (assigned.isEmpty()) {
            return List.copyOf(entries);
        }
        Map<TopicPartition, Long> ends = consumer.endOffsets(assigned, Duration.ofSeconds(30));
        long start = System.nanoTime();
        int before = entries.size();
        long deadline = start + Duration.ofSeconds(180).toNanos();
        while (assigned.stream().anyMatch(tp -> consumer.position(tp, Duration.ofSeconds(30)) < ends.get(tp))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("conflicts topics not read to their end within 180 s: " + ends + ", " + entries.size() + " read");
            }
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                String applier = record.topic().substring("ferry.".length(), record.topic().length() - ".conflicts".length());
                entries.add(Entry.of(applier, serde.decode(record.value())));
            }
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        if (millis > 2000) {
            System.out.printf("conflicts topics: %d new records read in %d ms%n", entries.size() - before, millis);
        }
        return List.copyOf(entries);
    }

    List<Entry> read(Predicate<Entry> which) {
        return read().stream().filter(which).toList();
    }

    private void assignNewPartitions() {
        Map<String, List<PartitionInfo>> existing = consumer.listTopics(Duration.ofSeconds(30));
        Set<TopicPartition> fresh = new HashSet<>();
        for (String name : mesh.names()) {
            String topic = ReplicationPolicy.conflictsTopic(mesh.id(name));
            for (PartitionInfo info : existing.getOrDefault(topic, List.of())) {
                TopicPartition tp = new TopicPartition(topic, info.partition());
                if (!assigned.contains(tp)) {
                    fresh.add(tp);
                }
            }
        }
        if (!fresh.isEmpty()) {
            assigned.addAll(fresh);
            consumer.assign(assigned);
            consumer.seekToBeginning(fresh);
        }
    }

    /** "TYPE/RESOLUTION → count" lines, for the figures a test prints. */
    static String countByClassAndResolution(List<Entry> entries) {
        Map<String, Long> counts = entries.stream().collect(Collectors.groupingBy(
                e -> e.type() + "/" + e.resolution(), TreeMap::new, Collectors.counting()));
        Map<String, Long> byApplier = entries.stream().collect(Collectors.groupingBy(
                Entry::applier, TreeMap::new, Collectors.counting()));
        return entries.size() + " recorded (by applier " + byApplier + "): " + counts;
    }

    @Override
    public void close() {
        consumer.close();
    }
}
