package io.ferry.e2e.conflicts;

import io.ferry.localmesh.TestServers;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.Command;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.ConflictingWrite;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A mesh of instances that exist only as conflicts topics on the test JVM's broker, with records written
 * the way apply agents write them (keyed by the Redis key, Avro single-object {@link Conflict}). Ids get a
 * random suffix, so tests sharing the broker never see each other's topics.
 */
public final class ConflictTopicFixture implements AutoCloseable {

    public static final String REPLID = "5b0c6f2a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b";

    public final String mesh;
    private final Map<String, String> ids = new LinkedHashMap<>();
    private final String bootstrap = TestServers.kafka().bootstrap();
    private final KafkaProducer<byte[], byte[]> producer;
    private final AvroSerde<Conflict> serde = AvroSerde.conflicts();

    /** Instances {@code names} (their conflicts topics created, as their apply agents create them) of a new mesh. */
    public ConflictTopicFixture(String meshPrefix, String... names) {
        String suffix = Long.toHexString(System.nanoTime() & 0xffffffL);
        this.mesh = meshPrefix + "-" + suffix;
        for (String name : names) {
            ids.put(name, name + "-" + suffix);
        }
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            List<NewTopic> topics = ids.values().stream()
                    .map(id -> new NewTopic(ReplicationPolicy.conflictsTopic(id), Optional.of(1), Optional.empty())).toList();
            admin.createTopics(topics).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create the conflicts topics", e);
        }
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("acks", "all");
        producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    public String bootstrap() {
        return bootstrap;
    }

    public String id(String name) {
        return ids.get(name);
    }

    public List<String> ids() {
        return List.copyOf(ids.values());
    }

    /** The mesh file: every instance on this broker, Redis at the given ports (in the order of the names). */
    public String meshYaml(int... redisPorts) {
        StringBuilder yaml = new StringBuilder("mesh: " + mesh + "\nkafka: {bootstrap: \"" + bootstrap + "\"}\ninstances:\n");
        int i = 0;
        for (String id : ids.values()) {
            yaml.append("  ").append(id).append(": {redis: {uri: \"redis://127.0.0.1:").append(redisPorts[i++]).append("\"}}\n");
        }
        return yaml.toString();
    }

    /** A write made on instance {@code name}: event {@code kafkaOffset} of its changes topic. */
    public ConflictingWrite write(String name, long kafkaOffset, long timeMillis) {
        return ConflictingWrite.newBuilder().setOrigin(id(name)).setKafkaOffset(kafkaOffset)
                .setPosition(new SourcePosition(REPLID, 5000 + kafkaOffset, 0)).setTimeMillis(timeMillis)
                .setCommand(new Command("SET", List.of())).build();
    }

    /** Applier {@code applier}'s record of {@code peer}'s write meeting {@code local}'s, made on the applier. */
    public Conflict pair(String applier, String type, String key, ConflictingWrite peer, ConflictingWrite local,
                         String policy, String winner, String resolution) {
        return Conflict.newBuilder().setApplier(id(applier)).setOrigin(peer.getOrigin()).setType(type)
                .setKey(ByteBuffer.wrap(key.getBytes(StandardCharsets.UTF_8))).setPosition(peer.getPosition())
                .setCommand(peer.getCommand()).setTimeMillis(Instant.ofEpochMilli(peer.getTimeMillis() + 20)).setDb(0)
                .setWrite(peer).setOther(local).setPolicy(policy).setWinner(winner == null ? null : id(winner))
                .setResolution(resolution).build();
    }

    /** A conditional write from {@code origin} that did not take effect on {@code applier} (seen in the reply only). */
    public Conflict setnx(String applier, String origin, String key, long offset) {
        byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
        return Conflict.newBuilder().setApplier(id(applier)).setOrigin(id(origin)).setType("CONDITIONAL_WRITE")
                .setKey(ByteBuffer.wrap(bytes)).setPosition(new SourcePosition(REPLID, offset, 0))
                .setCommand(new Command("SETNX", List.of(ByteBuffer.wrap(bytes), ByteBuffer.wrap(new byte[] {'1'}))))
                .setTimeMillis(Instant.now()).build();
    }

    /** Writes {@code conflicts} to their appliers' topics, in order, and waits for the broker's acknowledgements. */
    public void send(Conflict... conflicts) {
        try {
            for (Conflict conflict : conflicts) {
                byte[] key = new byte[conflict.getKey().remaining()];
                conflict.getKey().duplicate().get(key);
                ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(ReplicationPolicy.conflictsTopic(conflict.getApplier()),
                        key, serde.encode(conflict));
                record.headers().add(ReplicationPolicy.ORIGIN_HEADER, conflict.getOrigin().getBytes(StandardCharsets.UTF_8));
                producer.send(record).get(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot write conflicts", e);
        }
    }

    /** Every record of partition 0 of {@code topic} up to its current end. */
    public List<ConsumerRecord<byte[], byte[]>> readAll(String topic) {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("isolation.level", "read_committed");
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (consumer.position(tp) < end && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
