package io.ferry.bench;

import io.ferry.localmesh.FreePorts;
import io.ferry.localmesh.JvmProcess;
import io.ferry.localmesh.KafkaCluster;
import io.ferry.localmesh.RedisBinary;
import io.ferry.localmesh.RedisClusterServers;
import io.ferry.localmesh.RedisServer;
import io.ferry.schemas.ReplicationPolicy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Ferry one way, as deployed: Redis A, capture(A) in its own JVM, the Kafka broker, apply(B) in its own
 * JVM, Redis B, and capture(B) as every mesh member runs one (no writes reach B but apply's, so it
 * publishes only heartbeats; apply(B) reads them back to forget the writes B has applied, which bounds
 * its conflict detection's history). The mesh file is written here so the benchmark can tune capture,
 * apply, the conflict policy and the Kafka clients like an operator would. A may be a Redis Cluster
 * ({@link #startCluster}): its capture then streams every shard into its own partition.
 */
final class FerryOneWay implements ReplicationUnderTest {

    static final String SOURCE_ID = "a";
    static final String TARGET_ID = "b";
    /** The image's entry point: the agents run as users run them, {@code ferry capture|apply}. */
    private static final String FERRY_MAIN = "io.ferry.cli.FerryCli";

    private final Path dir;
    private final KafkaCluster kafka;
    private final long kafkaPid;
    private final RedisServer source;
    /** Null for a standalone source. */
    private final RedisClusterServers sourceCluster;
    private final RedisServer target;
    private final Path meshFile;
    private final int captureHttpPort = FreePorts.next();
    private final int applyHttpPort = FreePorts.next();
    private final int unusedApplyPort = FreePorts.next();
    private final int targetCaptureHttpPort = FreePorts.next();
    private final List<String> agentJvmArgs;
    private final String conflictPolicy;
    private final boolean targetCapture;
    private final TopicStats topics;
    private JvmProcess capture;
    private JvmProcess apply;
    private JvmProcess targetCaptureProcess;
    private int applyStarts;
    private int captureStarts = 1;
    private long peakApplyRss = -1;
    private long peakCaptureRss = -1;
    private long offsetAtPause;

    private FerryOneWay(Path dir, KafkaCluster kafka, long kafkaPid, RedisServer source, RedisClusterServers sourceCluster,
                        RedisServer target, List<String> agentJvmArgs, String conflictPolicy, boolean targetCapture) {
        this.dir = dir;
        this.kafka = kafka;
        this.kafkaPid = kafkaPid;
        this.source = source;
        this.sourceCluster = sourceCluster;
        this.target = target;
        this.meshFile = dir.resolve("mesh.yaml");
        this.agentJvmArgs = agentJvmArgs;
        this.conflictPolicy = conflictPolicy;
        this.targetCapture = targetCapture;
        this.topics = new TopicStats(kafka.bootstrap());
    }

    /**
     * Starts both Redis servers and writes the mesh file; {@link #startAgents(Duration)} starts the agents.
     *
     * @param meshSettings extra top-level mesh sections (capture:, apply:), YAML
     * @param kafkaProperties client properties every agent passes to its Kafka clients
     * @param conflictPolicy the policy of every key (lww, report, priority with the source first)
     * @param targetCapture whether B runs its capture too, as a mesh member does
     */
    static FerryOneWay start(RedisBinary binary, KafkaCluster kafka, long kafkaPid, Path dir, String meshSettings,
                             Map<String, String> kafkaProperties, List<String> agentJvmArgs, String conflictPolicy,
                             boolean targetCapture) {
        RedisServer a = RedisServer.start(binary, dir.resolve("ferry-" + SOURCE_ID));
        RedisServer b = startTarget(binary, dir, a::stop);
        FerryOneWay ferry = new FerryOneWay(dir, kafka, kafkaPid, a, null, b, agentJvmArgs, conflictPolicy, targetCapture);
        ferry.writeMesh(meshSettings, kafkaProperties);
        return ferry;
    }

    /** The same with A a Redis Cluster of {@code masters} masters (slots split evenly) and B standalone. */
    static FerryOneWay startCluster(RedisBinary binary, int masters, KafkaCluster kafka, long kafkaPid, Path dir, String meshSettings,
                                    Map<String, String> kafkaProperties, List<String> agentJvmArgs, String conflictPolicy,
                                    boolean targetCapture) {
        RedisClusterServers a = RedisClusterServers.start(binary, dir.resolve("ferry-" + SOURCE_ID), masters);
        RedisServer b = startTarget(binary, dir, a::close);
        FerryOneWay ferry = new FerryOneWay(dir, kafka, kafkaPid, a.node(0), a, b, agentJvmArgs, conflictPolicy, targetCapture);
        ferry.writeMesh(meshSettings, kafkaProperties);
        return ferry;
    }

    /** Starts B; if it fails, stops the source already started. */
    private static RedisServer startTarget(RedisBinary binary, Path dir, Runnable stopSource) {
        try {
            return RedisServer.start(binary, dir.resolve("ferry-" + TARGET_ID));
        } catch (RuntimeException e) {
            stopSource.run();
            throw e;
        }
    }

    /** The source's masters: the one server, or every node of the cluster source. */
    List<RedisServer> sourceMasters() {
        return sourceCluster == null ? List.of(source) : sourceCluster.nodes();
    }

    @Override
    public SourcePipes openSourcePipes() {
        return sourceCluster == null ? SourcePipes.standalone(source.port()) : SourcePipes.cluster(source.port());
    }

    /** Stops capture (SIGTERM: it commits what is open), rewrites the mesh file and starts it again. */
    void restartCapture(String meshSettings, Map<String, String> kafkaProperties, Duration timeout) {
        peakCaptureRss = capturePeakRss();
        capture.stop();
        writeMesh(meshSettings, kafkaProperties);
        captureStarts++;
        capture = startAgent("capture-" + SOURCE_ID + "-" + captureStarts, "capture", SOURCE_ID);
        awaitReady(capture, new AgentEndpoint(captureHttpPort), timeout);
    }

    private void writeMesh(String meshSettings, Map<String, String> kafkaProperties) {
        StringBuilder yaml = new StringBuilder("mesh: bench\nkafka:\n  bootstrap: \"").append(kafka.bootstrap()).append("\"\n");
        if (!kafkaProperties.isEmpty()) {
            yaml.append("  properties:\n");
            kafkaProperties.forEach((k, v) -> yaml.append("    \"").append(k).append("\": \"").append(v).append("\"\n"));
        }
        yaml.append("instances:\n");
        yaml.append("  ").append(SOURCE_ID).append(":\n    redis: {uri: \"").append(source.uri())
                .append(sourceCluster == null ? "\"}" : "\", cluster: true}").append("\n    http: {capturePort: ").append(captureHttpPort).append(", applyPort: ").append(unusedApplyPort).append("}\n");
        yaml.append("  ").append(TARGET_ID).append(":\n    redis: {uri: \"").append(target.uri())
                .append("\"}\n    http: {capturePort: ").append(targetCaptureHttpPort).append(", applyPort: ").append(applyHttpPort).append("}\n");
        yaml.append(conflictsSection(conflictPolicy));
        if (meshSettings != null && !meshSettings.isBlank()) {
            yaml.append(meshSettings.endsWith("\n") ? meshSettings : meshSettings + "\n");
        }
        try {
            Files.writeString(meshFile, yaml.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + meshFile, e);
        }
    }

    /** The mesh file's {@code conflicts:} section: one entry for every key. */
    static String conflictsSection(String policy) {
        String order = policy.equals("priority") ? ", order: [" + SOURCE_ID + ", " + TARGET_ID + "]" : "";
        return "conflicts:\n  - {match: \"*\", policy: " + policy + order + "}\n";
    }

    String conflictPolicy() {
        return conflictPolicy;
    }

    /** Starts capture(A), capture(B) if asked, and apply(B), and waits until they report ready. */
    void startAgents(Duration timeout) {
        capture = startAgent("capture-" + SOURCE_ID, "capture", SOURCE_ID);
        if (targetCapture) {
            targetCaptureProcess = startAgent("capture-" + TARGET_ID, "capture", TARGET_ID);
        }
        startApply();
        awaitReady(capture, new AgentEndpoint(captureHttpPort), timeout);
        if (targetCapture) {
            awaitReady(targetCaptureProcess, new AgentEndpoint(targetCaptureHttpPort), timeout);
        }
        awaitReady(apply, new AgentEndpoint(applyHttpPort), timeout);
    }

    private void startApply() {
        applyStarts++;
        apply = startAgent("apply-" + TARGET_ID + (applyStarts > 1 ? "-" + applyStarts : ""), "apply", TARGET_ID);
    }

    private JvmProcess startAgent(String name, String role, String instance) {
        Class<?> main;
        try {
            main = Class.forName(FERRY_MAIN);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(FERRY_MAIN + " is not on the classpath: build the cli module first", e);
        }
        List<String> jvm = new ArrayList<>();
        for (String arg : agentJvmArgs) {
            jvm.add(arg.replace("{name}", name).replace("{dir}", dir.toString()));
        }
        return JvmProcess.start(name, dir.resolve(name + ".log"), main, jvm, role, "--config", meshFile.toString(), "--instance", instance);
    }

    private void awaitReady(JvmProcess process, AgentEndpoint endpoint, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!endpoint.ready()) {
            if (!process.isAlive()) {
                throw new IllegalStateException(process.name() + " exited; see " + dir.resolve(process.name() + ".log"));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(process.name() + " not ready after " + timeout + ": "
                        + endpoint.readiness() + "; see " + dir.resolve(process.name() + ".log"));
            }
            NativeReplication.sleep(50);
        }
    }

    AgentEndpoint captureEndpoint() {
        return new AgentEndpoint(captureHttpPort);
    }

    AgentEndpoint applyEndpoint() {
        return new AgentEndpoint(applyHttpPort);
    }

    /** Every agent's endpoint: capture(A), apply(B) and capture(B) if it runs. */
    List<AgentEndpoint> endpoints() {
        List<AgentEndpoint> endpoints = new ArrayList<>(List.of(captureEndpoint(), applyEndpoint()));
        if (targetCaptureProcess != null) {
            endpoints.add(new AgentEndpoint(targetCaptureHttpPort));
        }
        return endpoints;
    }

    String changesTopic() {
        return ReplicationPolicy.changesTopic(SOURCE_ID);
    }

    TopicStats topics() {
        return topics;
    }

    long capturePid() {
        return capture.pid();
    }

    long applyPid() {
        return apply.pid();
    }

    /** Peak RSS of apply over all its lifetimes (it is restarted for the catch-up run). */
    long applyPeakRss() {
        return Math.max(peakApplyRss, ProcessStats.peakRssBytes(apply.pid()));
    }

    /** Peak RSS of capture over all its lifetimes (it is restarted for the latency settings). */
    long capturePeakRss() {
        return Math.max(peakCaptureRss, ProcessStats.peakRssBytes(capture.pid()));
    }

    @Override
    public String name() {
        return "ferry";
    }

    @Override
    public RedisServer source() {
        return source;
    }

    @Override
    public RedisServer target() {
        return target;
    }

    @Override
    public Map<String, Long> processes() {
        Map<String, Long> pids = new LinkedHashMap<>();
        pids.put("capture", capture.pid());
        pids.put("apply", apply.pid());
        if (targetCaptureProcess != null) {
            pids.put("target-capture", targetCaptureProcess.pid());
        }
        pids.put("kafka", kafkaPid);
        List<RedisServer> masters = sourceMasters();
        for (int i = 0; i < masters.size(); i++) {
            pids.put(masters.size() == 1 ? "source-redis" : "source-redis-" + i, masters.get(i).pid());
        }
        pids.put("target-redis", target.pid());
        return pids;
    }

    @Override
    public void pauseDelivery() {
        peakApplyRss = applyPeakRss();
        apply.stop();
        offsetAtPause = topics.endOffset(changesTopic());
    }

    @Override
    public void resumeDelivery() {
        startApply();
    }

    @Override
    public String resumeMode() {
        return "apply restarted, resumed from its checkpoint in the target";
    }

    @Override
    public long streamBytes() {
        return topics.bytes(changesTopic());
    }

    @Override
    public void awaitStored(long writes, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long previous = -1;
        while (System.nanoTime() < deadline) {
            long end = topics.endOffset(changesTopic());
            // offsets also count transaction markers and heartbeats: require the count, then no more growth
            if (end - offsetAtPause >= writes && end - previous <= 5) {
                return;
            }
            previous = end;
            NativeReplication.sleep(250);
        }
        throw new IllegalStateException("capture did not publish " + writes + " writes within " + timeout);
    }

    @Override
    public void close() {
        for (JvmProcess process : new JvmProcess[] {apply, targetCaptureProcess, capture}) {
            if (process != null) {
                process.close();
            }
        }
        topics.close();
        target.stop();
        if (sourceCluster != null) {
            sourceCluster.close();
        } else {
            source.stop();
        }
    }
}
