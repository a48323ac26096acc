package io.ferry.e2e.mesh;

import io.ferry.cli.FerryCli;
import io.ferry.localmesh.Await;
import io.ferry.localmesh.JvmProcess;
import io.ferry.localmesh.KafkaCluster;
import io.ferry.localmesh.LocalMesh;
import io.ferry.localmesh.RedisClusterServers;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.InstanceConfig;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * A mesh for end-to-end tests: the {@link LocalMesh} servers (one redis-server per instance, a Kafka
 * broker) plus, per instance, a capture and an apply agent each in a child JVM started through the
 * image's entry point ({@code ferry capture|apply}, so tests run what users run and can kill -9 it).
 * Instance ids get a random suffix so tests sharing one broker never share topics.
 */
public final class MeshUnderTest implements AutoCloseable {

    public static final Duration CONVERGE = Duration.ofSeconds(90);
    /** Agents start on C1 only: several JVMs share two cores in these tests and correctness needs no peak speed. */
    private static final List<String> AGENT_JVM = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    private static final List<String> AGENT_JVM_FULL_JIT = List.of("-Xmx384m", "-XX:+UseParallelGC");

    private final LocalMesh mesh;
    private final Map<String, String> ids = new LinkedHashMap<>();
    private final Map<String, JvmProcess> captures = new LinkedHashMap<>();
    private final Map<String, JvmProcess> applies = new LinkedHashMap<>();
    private final Map<String, RedisClient> clients = new LinkedHashMap<>();
    private final Map<String, StatefulRedisConnection<String, String>> connections = new LinkedHashMap<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Path dir;
    private List<String> agentJvm = AGENT_JVM;
    /** The mesh file the agents start with (the servers' own one unless {@link #agentsUse(Path)} says otherwise). */
    private Path agentConfig;

    private MeshUnderTest(List<String> names, KafkaCluster kafka, String extraYaml) {
        this(names, kafka, extraYaml, List.of());
    }

    private MeshUnderTest(List<String> names, KafkaCluster kafka, String extraYaml, List<String> redisArgs) {
        String suffix = UUID.randomUUID().toString().substring(0, 6);
        for (String name : names) {
            ids.put(name, name + "-" + suffix);
        }
        dir = TestServers.tempDir("mesh");
        mesh = LocalMesh.start(dir, new ArrayList<>(ids.values()), TestServers.redis70(), kafka, withFastHeartbeats(extraYaml), redisArgs);
        agentConfig = mesh.configFile();
    }

    /** {@code extraYaml} with 200 ms capture heartbeats, in its own {@code capture: {…}} section if it has one. */
    private static String withFastHeartbeats(String extraYaml) {
        String yaml = extraYaml == null ? "" : extraYaml;
        return yaml.contains("capture: {") ? yaml.replace("capture: {", "capture: {heartbeatMillis: 200, ")
                : "capture: {heartbeatMillis: 200}\n" + yaml;
    }

    /** Servers only, every redis-server started with {@code redisArgs} (for example AOF on). */
    public static MeshUnderTest servers(KafkaCluster kafka, String extraYaml, List<String> redisArgs, String... names) {
        return new MeshUnderTest(List.of(names), kafka, extraYaml, redisArgs);
    }

    /** Agents started from now on read {@code config} (for example one whose addresses are proxies'). */
    public void agentsUse(Path config) {
        agentConfig = config;
    }

    /**
     * A copy of the servers' mesh file in which {@code name}'s Redis is {@code cluster} (its first node as seed)
     * instead of its redis-server, with {@code extraYaml} appended (may be empty).
     */
    public Path meshFileWithCluster(String name, RedisClusterServers cluster, String extraYaml) {
        try {
            String yaml = java.nio.file.Files.readString(mesh.configFile());
            String standalone = "{uri: \"" + mesh.redis(id(name)).uri() + "\"}";
            if (!yaml.contains(standalone)) {
                throw new IllegalStateException("no " + standalone + " in the mesh file:\n" + yaml);
            }
            yaml = yaml.replace(standalone, "{uri: \"redis://127.0.0.1:" + cluster.node(0).port() + "\", cluster: true}") + extraYaml;
            Path file = java.nio.file.Files.createTempFile(dir, "mesh-cluster-" + name + "-", ".yaml"); // one per call: agents may still read an earlier one
            java.nio.file.Files.writeString(file, yaml);
            return file;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Servers only; start agents with {@link #startAgents()} or one by one. */
    public static MeshUnderTest servers(KafkaCluster kafka, String extraYaml, String... names) {
        return new MeshUnderTest(List.of(names), kafka, extraYaml);
    }

    /** Servers on the JVM's shared broker and every agent running and ready. */
    static MeshUnderTest start(String... names) {
        return startWith(null, names);
    }

    /** The same with {@code extraYaml} appended to the mesh file (may be null). */
    static MeshUnderTest startWith(String extraYaml, String... names) {
        MeshUnderTest mesh = servers(TestServers.kafka(), extraYaml, names);
        try {
            mesh.startAgents();
        } catch (RuntimeException | Error e) {
            mesh.close();
            throw e;
        }
        return mesh;
    }

    /** Agents get the full JIT (for throughput measurements); call before starting them. */
    MeshUnderTest withFullJit() {
        agentJvm = AGENT_JVM_FULL_JIT;
        return this;
    }

    /** Agents start with these JVM options instead (for example a small heap); call before starting them. */
    MeshUnderTest withAgentJvm(List<String> options) {
        agentJvm = List.copyOf(options);
        return this;
    }

    public void startAgents() {
        long start = System.nanoTime();
        ids.keySet().forEach(this::startCapture);
        ids.keySet().forEach(this::startApply);
        ids.keySet().forEach(name -> {
            awaitReady(name, "capture");
            System.out.printf("capture %s ready after %d ms%n", name, (System.nanoTime() - start) / 1_000_000);
            awaitReady(name, "apply");
            System.out.printf("apply %s ready after %d ms%n", name, (System.nanoTime() - start) / 1_000_000);
        });
        System.out.printf("agents of %s ready in %d ms%n", ids.values(), (System.nanoTime() - start) / 1_000_000);
    }

    /** Instance id of a short name (A → A-1f2e3d). */
    public String id(String name) {
        return ids.get(name);
    }

    public List<String> names() {
        return new ArrayList<>(ids.keySet());
    }

    public LocalMesh local() {
        return mesh;
    }

    InstanceConfig instance(String name) {
        return mesh.config().instance(id(name));
    }

    public void startCapture(String name) {
        captures.put(name, JvmProcess.start("capture-" + name, dir.resolve("capture-" + name + ".log"), FerryCli.class, agentJvm,
                "capture", "--config", agentConfig.toString(), "--instance", id(name)));
    }

    /** Starts the apply agent with a stable member id, so a restart takes its partitions back at once. */
    public void startApply(String name) {
        startApply(name, agentConfig);
    }

    /** The same with another mesh file (for example one that no longer lists an instance that left). */
    void startApply(String name, Path config) {
        applies.put(name, JvmProcess.start("apply-" + name, dir.resolve("apply-" + name + ".log"), FerryCli.class, agentJvm,
                "apply", "--config", config.toString(), "--instance", id(name), "--member-id", "replica-0"));
    }

    /** A copy of the mesh file without {@code name}'s instance entry, as an operator writes it when that instance leaves. */
    Path meshFileWithout(String name) {
        return meshFileWithout(mesh.configFile(), name);
    }

    /** A copy of mesh file {@code from} without instance {@code name}. */
    Path meshFileWithout(Path from, String name) {
        try {
            List<String> kept = new ArrayList<>();
            boolean skipping = false;
            for (String line : java.nio.file.Files.readAllLines(from)) {
                if (line.startsWith("  ") && !line.startsWith("    ")) {
                    skipping = line.trim().equals(id(name) + ":");
                } else if (!line.startsWith(" ")) {
                    skipping = false;
                }
                if (!skipping) {
                    kept.add(line);
                }
            }
            Path file = dir.resolve("mesh-without-" + name + ".yaml");
            java.nio.file.Files.write(file, kept);
            return file;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public JvmProcess apply(String name) {
        return applies.get(name);
    }

    public JvmProcess capture(String name) {
        return captures.get(name);
    }

    public Path log(String role, String name) {
        return dir.resolve(role + "-" + name + ".log");
    }

    /** The warnings and errors in an agent's log (at most {@code max} lines, the last ones), for a failure report. */
    public String warnings(String role, String name, int max) {
        try {
            List<String> lines = java.nio.file.Files.readAllLines(log(role, name)).stream()
                    .filter(line -> line.contains(" WARN ") || line.contains(" ERROR ")).toList();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - max), lines.size()));
        } catch (IOException | java.io.UncheckedIOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    int port(String role, String name) {
        return "capture".equals(role) ? instance(name).captureHttpPort() : instance(name).applyHttpPort();
    }

    public void awaitReady(String name, String role) {
        Await.until(Duration.ofSeconds(120), role + " " + name + " ready (log " + log(role, name) + ")", () -> {
            JvmProcess process = "capture".equals(role) ? captures.get(name) : applies.get(name);
            if (!process.isAlive()) {
                throw new AssertionError(role + " " + name + " exited; the end of its log:\n" + process.logTail(40));
            }
            return httpGet(name, role, "/readyz").startsWith("ready");
        });
    }

    String httpGet(String name, String role, String path) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port(role, name) + path)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return response.body();
        } catch (IOException e) {
            return "unreachable: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Sum of a metric's samples on an agent's /metrics whose labels contain every {@code label="value"} given. */
    public double metric(String name, String role, String metric, String... labels) {
        return metricSum(httpGet(name, role, "/metrics"), metric, labels);
    }

    /** Sum of a metric's samples in a Prometheus text {@code body} whose labels contain every {@code label="value"} given. */
    public static double metricSum(String body, String metric, String... labels) {
        Pattern line = Pattern.compile("^" + Pattern.quote(metric) + "(\\{[^}]*\\})? ([^ ]+)$", Pattern.MULTILINE);
        Matcher m = line.matcher(body);
        double sum = 0;
        while (m.find()) {
            String tags = m.group(1) == null ? "" : m.group(1);
            boolean all = true;
            for (String label : labels) {
                all &= tags.contains(label);
            }
            if (all) {
                sum += Double.parseDouble(m.group(2));
            }
        }
        return sum;
    }

    public RedisCommands<String, String> redis(String name) {
        return connection(name).sync();
    }

    StatefulRedisConnection<String, String> connection(String name) {
        StatefulRedisConnection<String, String> c = connections.get(name);
        if (c == null || !c.isOpen()) {
            RedisClient client = clients.computeIfAbsent(name, n -> RedisClient.create(mesh.redis(id(n)).uri()));
            c = client.connect();
            connections.put(name, c);
        }
        return c;
    }

    /** A fresh client of its own (for a writer thread). */
    public RedisClient newClient(String name) {
        return RedisClient.create(mesh.redis(id(name)).uri());
    }

    /** Applied checkpoint on {@code target} for {@code origin}'s partition 0, -1 when none. */
    long checkpoint(String target, String origin) {
        String value = redis(target).get(new String(ReplicationPolicy.checkpointKey(id(origin), 0), StandardCharsets.UTF_8));
        return value == null ? -1 : Long.parseLong(value);
    }

    /** Every record of a topic (read_committed), decoded only as far as the caller wants. */
    List<ConsumerRecord<byte[], byte[]>> records(String topic) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, mesh.kafka().bootstrap());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(8 * 1024 * 1024));
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
            if (infos == null || infos.isEmpty()) {
                return records;
            }
            List<TopicPartition> partitions = infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp)) && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    List<ChangeEvent> changeEvents(String origin) {
        return records(ReplicationPolicy.changesTopic(id(origin))).stream()
                .map(r -> AvroSerde.changeEvents().decode(r.value())).toList();
    }

    /** Copies the agents' logs somewhere that outlives the test JVM (its temp dirs do not) and says where. */
    public void keepLogs(String why) {
        try {
            Path kept = java.nio.file.Files.createTempDirectory("ferry-kept-logs-");
            try (var logs = java.nio.file.Files.list(dir)) {
                for (Path log : logs.filter(p -> p.toString().endsWith(".log")).toList()) {
                    java.nio.file.Files.copy(log, kept.resolve(log.getFileName()));
                }
            }
            System.out.println(why + ": agent logs kept in " + kept);
        } catch (IOException e) {
            System.out.println(why + ": could not keep the agent logs: " + e);
        }
    }

    @Override
    public void close() {
        List<JvmProcess> all = new ArrayList<>(applies.values());
        all.addAll(captures.values());
        JvmProcess.closeAll(all); // at once: each apply agent takes a second or more to stop on a busy machine
        connections.values().forEach(c -> {
            try {
                c.close();
            } catch (RuntimeException ignored) {
                // the server may be gone already
            }
        });
        clients.values().forEach(c -> c.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
        mesh.close();
    }
}
