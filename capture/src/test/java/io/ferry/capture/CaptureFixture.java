package io.ferry.capture;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.AgentHttpServer;
import io.ferry.topology.MeshConfig;
import io.ferry.topology.MeshConfigLoader;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * What the capture tests share: a mesh file for one Redis, a reader of the changes topic, Redis clients.
 * Public (and in the module's test-jar) for the end-to-end tests that run the capture as a process.
 */
public final class CaptureFixture {

    private CaptureFixture() {
    }

    /** A unique instance id, so tests sharing the JVM's broker never share topics. */
    public static String instanceId(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    public static String yaml(String id, String redisUri, String captureSection) {
        return "mesh: capture-test\n"
                + "kafka: {bootstrap: \"" + TestServers.kafka().bootstrap() + "\"}\n"
                + "instances:\n"
                + "  " + id + ": {redis: {uri: \"" + redisUri + "\"}, http: {capturePort: 0, applyPort: 0}}\n"
                + "  " + id + "-peer: {redis: {uri: \"redis://127.0.0.1:1\"}, http: {capturePort: 0, applyPort: 0}}\n"
                + (captureSection == null ? "" : "capture: " + captureSection + "\n");
    }

    static MeshConfig mesh(String id, RedisServer redis, String captureSection) {
        return MeshConfigLoader.parse(yaml(id, redis.uri(), captureSection), "test", Map.of());
    }

    public static Path meshFile(String id, RedisServer redis, String captureSection) {
        try {
            Path file = TestServers.tempDir("mesh").resolve("mesh.yaml");
            Files.writeString(file, yaml(id, redis.uri(), captureSection));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One Lettuce client for every test connection in this JVM (its threads are shared). */
    private static final RedisClient CLIENT = RedisClient.create();

    public static StatefulRedisConnection<String, String> connect(RedisServer redis) {
        return CLIENT.connect(RedisURI.create(redis.uri()));
    }

    public static StatefulRedisConnection<byte[], byte[]> connectBytes(RedisServer redis) {
        return CLIENT.connect(ByteArrayCodec.INSTANCE, RedisURI.create(redis.uri()));
    }

    static void awaitReady(CaptureService capture) {
        Await.until(Duration.ofSeconds(60), "capture ready (last reason: see readiness)", () -> capture.readiness() == null);
    }

    static String text(ByteBuffer buffer) {
        ByteBuffer copy = buffer.duplicate();
        byte[] bytes = new byte[copy.remaining()];
        copy.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer copy = buffer.duplicate();
        byte[] bytes = new byte[copy.remaining()];
        copy.get(bytes);
        return bytes;
    }

    /** "SET k v" for a command, for readable assertions. */
    static String text(Command command) {
        return command.getName() + (command.getArgs().isEmpty() ? "" : " "
                + command.getArgs().stream().map(CaptureFixture::text).collect(Collectors.joining(" ")));
    }

    /**
     * A capture of {@code redis} running in this test's JVM, caught up, with a reader of its changes topic
     * and a client connection to the source; all stopped together.
     */
    static final class Running implements AutoCloseable {
        final String id;
        final PrometheusMeterRegistry registry = AgentHttpServer.newRegistry();
        final CaptureService capture;
        final ChangeLog log;
        final StatefulRedisConnection<String, String> connection;

        Running(String prefix, RedisServer redis) {
            id = instanceId(prefix);
            capture = new CaptureService(mesh(id, redis, null), id, registry);
            log = new ChangeLog(id);
            connection = connect(redis);
            capture.start();
            awaitReady(capture);
        }

        RedisCommands<String, String> redis() {
            return connection.sync();
        }

        /** Sum of a metric over the series whose labels contain {@code tag}. */
        double metric(String name, String tag) {
            return counter(registry.scrape(), name, tag);
        }

        @Override
        public void close() {
            connection.close();
            log.close();
            capture.close();
        }
    }

    /** The numbers {@code i} of the {@code SET n:* i} writes, in topic order. */
    public static List<Integer> numbers(List<ChangeEvent> events) {
        List<Integer> numbers = new ArrayList<>();
        for (ChangeEvent event : events) {
            if (event.getKind() != EventKind.COMMAND) {
                continue;
            }
            Command command = event.getCommands().get(0);
            if (command.getName().equals("SET") && text(command.getArgs().get(0)).startsWith("n:")) {
                numbers.add(Integer.parseInt(text(command.getArgs().get(1))));
            }
        }
        return numbers;
    }

    /** Sum of a Prometheus counter or gauge over the series whose labels contain {@code tag}. */
    static double counter(String scrape, String name, String tag) {
        Matcher m = Pattern.compile("^" + name + "\\{([^}]*)\\} (\\S+)$",
                Pattern.MULTILINE).matcher(scrape);
        double total = 0;
        while (m.find()) {
            if (m.group(1).contains(tag)) {
                total += Double.parseDouble(m.group(2));
            }
        }
        return total;
    }

    /** Reads an instance's changes topic (read_committed), accumulating every event. */
    public static final class ChangeLog implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final AvroSerde<ChangeEvent> serde = AvroSerde.changeEvents();
        private final List<ChangeEvent> events = new ArrayList<>();
        private final List<Map<String, String>> headers = new ArrayList<>();

        public ChangeLog(String instance) {
            Properties props = new Properties();
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestServers.kafka().bootstrap());
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "10000");
            consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            TopicPartition partition = new TopicPartition(ReplicationPolicy.changesTopic(instance), 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
        }

        /** Polls once and returns everything read so far. */
        public synchronized List<ChangeEvent> poll() {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                events.add(serde.decode(record.value()));
                Map<String, String> h = new java.util.HashMap<>();
                record.headers().forEach(header -> h.put(header.key(), new String(header.value(), StandardCharsets.UTF_8)));
                headers.add(h);
            }
            return events;
        }

        List<Map<String, String>> headers() {
            return headers;
        }

        /** Every event that carries commands (COMMAND and TRANSACTION), in order. */
        List<ChangeEvent> changes() {
            return poll().stream().filter(e -> e.getKind() == EventKind.COMMAND || e.getKind() == EventKind.TRANSACTION).toList();
        }

        public List<ChangeEvent> await(String what, Duration timeout, Predicate<List<ChangeEvent>> done) {
            Await.until(timeout, what, () -> done.test(poll()));
            return List.copyOf(events);
        }

        /** Waits for a COMMAND event whose first command is {@code text}; returns the changes before it. */
        public List<ChangeEvent> changesUntil(String text, Duration timeout) {
            await("'" + text + "' in the changes topic", timeout,
                    all -> all.stream().anyMatch(e -> isCommand(e, text)));
            List<ChangeEvent> before = new ArrayList<>();
            for (ChangeEvent e : changes()) {
                if (isCommand(e, text)) {
                    return before;
                }
                before.add(e);
            }
            throw new AssertionError("unreachable");
        }

        private static boolean isCommand(ChangeEvent e, String text) {
            return e.getKind() == EventKind.COMMAND && text(e.getCommands().get(0)).equals(text);
        }

        @Override
        public void close() {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** A value of {@code type} in a canonical text form (hash and set order is not part of the value), to compare two Redis. */
    public static String canonicalValue(RedisCommands<byte[], byte[]> r, byte[] key, String type) {
        return switch (type) {
            case "string" -> hex(r.get(key));
            case "hash" -> new java.util.TreeMap<>(r.hgetall(key).entrySet().stream().collect(java.util.stream.Collectors.toMap(
                    e -> hex(e.getKey()), e -> hex(e.getValue())))).toString();
            case "list" -> r.lrange(key, 0, -1).stream().map(CaptureFixture::hex).toList().toString();
            case "set" -> new java.util.TreeSet<>(r.smembers(key).stream().map(CaptureFixture::hex).toList()).toString();
            case "zset" -> r.zrangeWithScores(key, 0, -1).stream().map(v -> hex(v.getValue()) + "=" + v.getScore()).toList().toString();
            case "stream" -> r.xrange(key, io.lettuce.core.Range.create("-", "+")).stream()
                    .map(m -> m.getId() + m.getBody().entrySet().stream().map(e -> hex(e.getKey()) + ":" + hex(e.getValue())).toList())
                    .toList() + " groups=" + r.xinfoGroups(key).size();
            default -> throw new AssertionError("unexpected type " + type);
        };
    }

    private static String hex(byte[] bytes) {
        return java.util.HexFormat.of().formatHex(bytes);
    }
}
