package io.ferry.e2e.cluster;

import io.ferry.cli.FerryCli;
import io.ferry.e2e.mesh.MeshUnderTest;
import io.ferry.localmesh.Await;
import io.ferry.localmesh.FreePorts;
import io.ferry.localmesh.JvmProcess;
import io.ferry.localmesh.KafkaCluster;
import io.ferry.localmesh.RedisClusterServers;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Instance A on a real Redis Cluster (3 masters, optionally with replicas) and instance B on a standalone
 * Redis, on the JVM's Kafka broker; only A's capture and B's apply run (as processes), so every write on
 * A's shards must arrive at B exactly once, in each key's order (also across a move of its slot).
 */
final class ClusterSourceMesh implements AutoCloseable {

    private static final List<String> AGENT_JVM = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    final RedisClusterServers cluster;
    final RedisServer target;
    final String a;
    final String b;
    private final Path dir;
    private final Path config;
    private final int captureHttpPort = FreePorts.next();
    private final int applyHttpPort = FreePorts.next();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final RedisClient client = RedisClient.create();
    private JvmProcess capture;
    private JvmProcess apply;
    private int captureRuns;

    ClusterSourceMesh(int replicasPerMaster) {
        String suffix = UUID.randomUUID().toString().substring(0, 6);
        a = "A-" + suffix;
        b = "B-" + suffix;
        dir = TestServers.tempDir("cluster-source");
        // the backlog must cover what is written while the capture is down
        cluster = RedisClusterServers.start(TestServers.redis70(), dir.resolve("cluster"), 3, replicasPerMaster,
                "--repl-backlog-size", "64mb");
        try {
            target = TestServers.redis(TestServers.redis70());
            KafkaCluster kafka = TestServers.kafka();
            StringBuilder yaml = new StringBuilder("mesh: cluster-source\nkafka:\n  bootstrap: \"" + kafka.bootstrap() + "\"\n");
            if (!kafka.meshProperties().isEmpty()) {
                yaml.append("  properties:\n");
                kafka.meshProperties().forEach((k, v) -> yaml.append("    \"").append(k).append("\": \"").append(v).append("\"\n"));
            }
            yaml.append("instances:\n")
                    .append("  ").append(a).append(":\n")
                    .append("    redis: {uri: \"redis://127.0.0.1:").append(cluster.node(0).port()).append("\", cluster: true}\n")
                    .append("    http: {capturePort: ").append(captureHttpPort).append(", applyPort: ").append(FreePorts.next()).append("}\n")
                    .append("  ").append(b).append(":\n")
                    .append("    redis: {uri: \"").append(target.uri()).append("\"}\n")
                    .append("    http: {capturePort: ").append(FreePorts.next()).append(", applyPort: ").append(applyHttpPort).append("}\n")
                    .append("capture: {heartbeatMillis: 200}\n");
            config = dir.resolve("mesh.yaml");
            Files.writeString(config, yaml);
        } catch (IOException | RuntimeException e) {
            cluster.close();
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    /** The mesh file (A a cluster source, B a standalone target). */
    Path config() {
        return config;
    }

    /** Starts A's capture (again after a kill) and waits until it is ready. */
    void startCapture() {
        captureRuns++;
        capture = JvmProcess.start("capture-" + captureRuns, captureLog(captureRuns), FerryCli.class, AGENT_JVM,
                "capture", "--config", config.toString(), "--instance", a);
        awaitReady("capture", capture, captureHttpPort, captureLog(captureRuns));
    }

    void startApply() {
        apply = JvmProcess.start("apply-B", dir.resolve("apply-B.log"), FerryCli.class, AGENT_JVM,
                "apply", "--config", config.toString(), "--instance", b, "--member-id", "replica-0");
        awaitReady("apply", apply, applyHttpPort, dir.resolve("apply-B.log"));
    }

    void killCapture() {
        capture.kill();
    }

    void killApply() {
        apply.kill();
    }

    /** A string key on B. */
    String targetGet(String key) {
        try (StatefulRedisConnection<String, String> connection = client.connect(RedisURI.create(target.uri()))) {
            return connection.sync().get(key);
        }
    }

    Path captureLog(int run) {
        return dir.resolve("capture-" + run + ".log");
    }

    long capturePid() {
        return capture.pid();
    }

    String captureLogText(int run) {
        try {
            return Files.readString(captureLog(run));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void awaitReady(String role, JvmProcess process, int port, Path log) {
        Await.until(Duration.ofSeconds(90), role + " ready (log " + log + ")", () -> {
            if (!process.isAlive()) {
                throw new AssertionError(role + " exited; the end of its log:\n" + process.logTail(40));
            }
            return get(port, "/readyz").startsWith("ready");
        });
    }

    /** Sum of a metric's samples on A's capture whose labels contain every given {@code label="value"}. */
    double captureMetric(String metric, String... labels) {
        return MeshUnderTest.metricSum(captureMetrics(), metric, labels);
    }

    /** A's capture's /metrics page. */
    String captureMetrics() {
        return get(captureHttpPort, "/metrics");
    }

    /** The same on B's apply agent. */
    double applyMetric(String metric, String... labels) {
        return MeshUnderTest.metricSum(get(applyHttpPort, "/metrics"), metric, labels);
    }

    private String get(int port, String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            return "unreachable: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Waits until B holds exactly the oracle's counters and lists: no write lost, none applied twice, every
     * list in its order on A (also a list whose slot moved between shards during the writes).
     */
    void awaitTargetHolds(Oracle oracle, Duration timeout) {
        try (StatefulRedisConnection<String, String> connection = client.connect(RedisURI.create(target.uri()))) {
            RedisCommands<String, String> redis = connection.sync();
            Map<String, Object> expected = oracle.expected();
            Map<String, Object> last = new LinkedHashMap<>();
            try {
                Await.until(timeout, "B holds every write made on A's shards", () -> {
                    last.clear();
                    for (String key : expected.keySet()) {
                        last.put(key, key.startsWith("l:") ? redis.lrange(key, 0, -1) : redis.get(key));
                    }
                    return last.equals(expected);
                });
            } catch (AssertionError e) {
                StringBuilder diff = new StringBuilder();
                try (io.lettuce.core.cluster.RedisClusterClient source = io.lettuce.core.cluster.RedisClusterClient.create(
                        RedisURI.create("redis://127.0.0.1:" + cluster.node(0).port()));
                     var sourceConnection = source.connect()) {
                    expected.forEach((key, value) -> {
                        if (!value.equals(last.get(key)) && diff.length() < 3000) {
                            Object onA = key.startsWith("l:") ? sourceConnection.sync().lrange(key, 0, -1) : sourceConnection.sync().get(key);
                            diff.append(key).append(" (slot ").append(slot(key))
                                    .append("): written ").append(value).append(", A has ").append(onA).append(", B has ").append(last.get(key)).append('\n');
                        }
                    });
                }
                throw new AssertionError(e.getMessage() + "; differences:\n" + diff + "agent logs kept in " + keepLogs(), e);
            }
        }
    }

    private static int slot(String key) {
        return io.ferry.resp.cluster.HashSlot.of(key.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Copies the agents' logs to a directory of their own (the test's directory is deleted at exit). */
    private Path keepLogs() {
        try {
            Path kept = Files.createTempDirectory("ferry-cluster-source-logs-");
            try (var logs = Files.list(dir)) {
                for (Path log : logs.filter(p -> p.toString().endsWith(".log")).toList()) {
                    Files.copy(log, kept.resolve(log.getFileName()));
                }
            }
            return kept;
        } catch (IOException e) {
            return dir;
        }
    }

    @Override
    public void close() {
        if (capture != null) {
            capture.kill();
        }
        if (apply != null) {
            apply.kill();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        cluster.close();
        if (target != null) {
            target.stop();
        }
    }
}
