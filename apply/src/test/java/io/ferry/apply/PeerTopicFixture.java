package io.ferry.apply;

import io.ferry.localmesh.KafkaCluster;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.Heartbeat;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SnapshotChunk;
import io.ferry.schemas.SourcePosition;
import io.ferry.topology.MeshConfig;
import io.ferry.topology.MeshConfigLoader;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * One applying instance ("self") with a real Redis, and one peer whose changes topic the test writes
 * by hand (the peer's capture agent is not involved). Ids are unique per fixture so tests sharing the
 * JVM's broker never see each other's topics.
 */
final class PeerTopicFixture implements AutoCloseable {

    final String self = "s" + UUID.randomUUID().toString().substring(0, 8);
    final String peer = "p" + UUID.randomUUID().toString().substring(0, 8);
    final KafkaCluster kafka = TestServers.kafka();
    final RedisServer redis;
    final MeshConfig mesh;
    final String yaml;
    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final KafkaProducer<byte[], byte[]> producer;
    private final RedisClient client;
    final StatefulRedisConnection<byte[], byte[]> connection;
    final RedisCommands<byte[], byte[]> redisCommands;
    private final AtomicLong sourceOffset = new AtomicLong(1000);
    private final List<ApplyService> services = new ArrayList<>();

    PeerTopicFixture(String applyYaml, String... redisArgs) {
        this(applyYaml, 1, redisArgs);
    }

    PeerTopicFixture(String applyYaml, int partitions, String... redisArgs) {
        redis = TestServers.redis(redisArgs);
        String yaml = "mesh: test\nkafka: {bootstrap: \"" + kafka.bootstrap() + "\"}\n"
                + "instances:\n"
                + "  " + self + ": {redis: {uri: \"" + redis.uri() + "\"}, http: {capturePort: 0, applyPort: 0}}\n"
                + "  " + peer + ": {redis: {uri: \"redis://127.0.0.1:1\"}, http: {capturePort: 0, applyPort: 0}}\n"
                + "capture: {heartbeatMillis: 200}\n"
                + (applyYaml == null ? "" : applyYaml + "\n");
        this.yaml = yaml;
        mesh = MeshConfigLoader.parse(yaml, "test", Map.of());
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic(ReplicationPolicy.changesTopic(peer), partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.LINGER_MS_CONFIG, "2");
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(256 * 1024));
        producer = new KafkaProducer<>(props);
        client = RedisClient.create(redis.uri());
        connection = client.connect(ByteArrayCodec.INSTANCE);
        redisCommands = connection.sync();
    }

    PeerTopicFixture() {
        this(null);
    }

    String topic() {
        return ReplicationPolicy.changesTopic(peer);
    }

    ApplyService startApply() {
        return startApply(registry);
    }

    ApplyService startApply(MeterRegistry meters) {
        ApplyService service = new ApplyService(mesh, self, meters);
        services.add(service);
        service.start();
        return service;
    }

    // ---- events -------------------------------------------------------------------------------

    static Command cmd(String name, Object... args) {
        List<ByteBuffer> buffers = new ArrayList<>();
        for (Object arg : args) {
            buffers.add(ByteBuffer.wrap(arg instanceof byte[] b ? b : String.valueOf(arg).getBytes(StandardCharsets.UTF_8)));
        }
        return new Command(name, buffers);
    }

    ChangeEvent event(EventKind kind, int db, List<Command> commands) {
        return ChangeEvent.newBuilder()
                .setOrigin(peer)
                .setPosition(new SourcePosition("0123456789012345678901234567890123456789", sourceOffset.addAndGet(50), db))
                .setKind(kind)
                .setDb(db)
                .setCommands(commands)
                .setKeys(List.of())
                .setCaptureTimeMillis(Instant.now())
                .build();
    }

    ChangeEvent command(String name, Object... args) {
        return event(EventKind.COMMAND, 0, List.of(cmd(name, args)));
    }

    ChangeEvent transaction(Command... commands) {
        return event(EventKind.TRANSACTION, 0, Arrays.asList(commands));
    }

    ChangeEvent heartbeat() {
        ChangeEvent event = event(EventKind.HEARTBEAT, 0, List.of());
        event.setHeartbeat(new Heartbeat(sourceOffset.get(), sourceOffset.get()));
        return event;
    }

    ChangeEvent chunk(byte[] key, int index, int count, long expireAt, byte[] data) {
        ChangeEvent event = event(EventKind.SNAPSHOT_CHUNK, 0, List.of());
        event.setChunk(new SnapshotChunk(ByteBuffer.wrap(key), index, count, expireAt, ByteBuffer.wrap(data)));
        return event;
    }

    /** Produces the events in order; returns the offset of the last one. */
    long produce(ChangeEvent... events) {
        long last = -1;
        for (ChangeEvent event : events) {
            last = produceRaw(AvroSerde.changeEvents().encode(event));
        }
        return last;
    }

    /** Produces {@code count} events without waiting for each; returns the offset of the last one. */
    long produceMany(int count, java.util.function.IntFunction<ChangeEvent> event) {
        java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> last = null;
        AvroSerde<ChangeEvent> serde = AvroSerde.changeEvents();
        for (int i = 0; i < count; i++) {
            last = producer.send(new ProducerRecord<>(topic(), serde.encode(event.apply(i))));
        }
        try {
            producer.flush();
            return last.get(60, TimeUnit.SECONDS).offset();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    long produceRaw(byte[] value) {
        return produceTo(0, value);
    }

    long produceTo(int partition, byte[] value) {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic(), partition, null, value);
        record.headers().add(ReplicationPolicy.ORIGIN_HEADER, peer.getBytes(StandardCharsets.UTF_8));
        try {
            return producer.send(record).get(30, TimeUnit.SECONDS).offset();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- observations ---------------------------------------------------------------------------

    String get(String key) {
        byte[] value = redisCommands.get(key.getBytes(StandardCharsets.UTF_8));
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    Long checkpoint() {
        return checkpoint(0);
    }

    Long checkpoint(int partition) {
        String value = get(new String(ReplicationPolicy.checkpointKey(peer, partition), StandardCharsets.UTF_8));
        return value == null ? null : Long.parseLong(value);
    }

    double count(String meter, String tag, String value) {
        Search search = registry.find(meter).tag("peer", peer);
        if (tag != null) {
            search = search.tag(tag, value);
        }
        var counter = search.counter();
        return counter == null ? 0 : counter.count();
    }

    MeterRegistry registry() {
        return registry;
    }

    /** Every record currently in one of the applier's own topics (dead letters, conflicts). */
    List<ConsumerRecord<byte[], byte[]>> readAll(String topic) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (consumer.position(tp) < end && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            return records;
        }
    }

    @Override
    public void close() {
        services.forEach(ApplyService::close);
        producer.close(Duration.ofSeconds(5));
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        redis.stop();
    }
}
