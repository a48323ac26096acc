package io.ferry.cli.lifecycle;

import io.ferry.capture.publish.TopicProvisioner;
import io.ferry.cli.ExitCode;
import io.ferry.cli.MeshOptions;
import io.ferry.cli.OperatorException;
import io.ferry.cli.connect.KafkaConnector;
import io.ferry.cli.connect.RedisConnector;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import io.ferry.topology.AgentHttpServer;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.MeshConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ferry join}: seeds an instance from a live peer so that its agents start exactly where the copy
 * stands. The steps, each of which must succeed before the next:
 * <ol>
 *   <li>the instance's agents are stopped (its capture is fenced through its transactional ids; a
 *       connection of its apply agent to its Redis is refused) and its Redis is emptied;</li>
 *   <li>a rejoining instance's own topic has been applied by the peer to its end (what it wrote before is
 *       then in the copy);</li>
 *   <li>the peer's copy (PSYNC ? -1, an RDB at replication offset O) is restored key by key; its
 *       {@code __ferry:ckpt:*} keys say where the peer stood in every other instance's topic at O;</li>
 *   <li>the peer's own topic is read from a record at or before O to the first record past O: the
 *       checkpoint for the peer's topic;</li>
 *   <li>every checkpoint is written in one MULTI/EXEC; the Redis's replication offset right after it is
 *       committed as the capture's position, so the capture resumes there and never publishes the copy.</li>
 * </ol>
 */
@Command(name = "join", mixinStandardHelpOptions = true,
        header = "Seed an instance (new, wiped or rebuilt) from a live peer: its data and where it stood in every topic.",
        description = {"Copies PEER's keyspace into INSTANCE's Redis at one point of PEER's replication stream (as a replica"
                + " would, so big keys and trimmed Kafka topics are no problem) and sets INSTANCE's checkpoints to where PEER"
                + " stood at that point in every instance's changes topic, and INSTANCE's capture position to just after the copy:"
                + " its apply agent then resumes every peer exactly there and its capture does not publish the copy.",
                "Before: INSTANCE is in the mesh file (peers pick up its topic by themselves), its capture and apply agent are"
                + " stopped, PEER's agents run. After: start INSTANCE's capture, then its apply agent, then route clients to it.",
                "A wiped instance is re-seeded the same way (with --replace-data); its capture, if it waits as 'source wiped',"
                + " resumes by itself."})
public final class JoinCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    MeshOptions mesh;

    @Option(names = {"-i", "--instance"}, required = true, paramLabel = "INSTANCE", description = "The instance to seed.")
    String id;

    @Option(names = "--from", required = true, paramLabel = "PEER", description = "The live instance to copy.")
    String from;

    @Option(names = "--replace-data", description = "Flush INSTANCE's Redis first if it holds keys (otherwise refused).")
    boolean replaceData;

    @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "120",
            description = "How long to wait for PEER's agents to reach the copy's point (default ${DEFAULT-VALUE}).")
    int waitSeconds;

    @Option(names = "--http-port", paramLabel = "PORT",
            description = "Serve /metrics (ferry_join_in_progress, ferry_join_copied_keys_total), /healthz and /readyz on this"
                    + " port while the join runs, so Prometheus sees it where it scrapes INSTANCE's capture agent (which is stopped"
                    + " during a join). Default: INSTANCE's capture HTTP port; 0: none.")
    Integer httpPort;

    @Option(names = "--http-bind", paramLabel = "ADDRESS", defaultValue = "0.0.0.0",
            description = "Address the metrics port binds to (default ${DEFAULT-VALUE}).")
    String httpBind;

    private InstanceConfig self;
    private volatile String phase = "starting";

    @Override
    public Integer call() throws Exception {
        MeshConfig config = mesh.load();
        self = MeshOptions.instance(config, id);
        InstanceConfig peer = MeshOptions.instance(config, from);
        if (self.id().equals(peer.id())) {
            throw new OperatorException(ExitCode.BAD_CONFIG, "--from must name another instance than --instance");
        }
        for (InstanceConfig instance : List.of(self, peer)) {
            if (instance.redis().cluster()) {
                throw new OperatorException(ExitCode.BAD_CONFIG, "ferry join does not support Redis Cluster instances yet ('"
                        + instance.id() + "' is one): copy the keys with a cluster-aware tool and let its apply agent catch up"
                        + " from the peers' topics instead");
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        Duration wait = Duration.ofSeconds(waitSeconds);
        Path spool = Path.of(System.getProperty("java.io.tmpdir"));
        long began = System.nanoTime();
        PrometheusMeterRegistry registry = AgentHttpServer.newRegistry();
        JoinMetrics metrics = new JoinMetrics(registry, self.id(), peer.id());
        metrics.started();
        try (AgentHttpServer http = serveMetrics(registry, out)) {
            join(config, peer, metrics, out, wait, spool, began);
        } finally {
            metrics.finished();
        }
        return ExitCode.OK;
    }

    /** The metrics endpoint, or null when switched off or the port is taken (the join goes on without it). */
    private AgentHttpServer serveMetrics(PrometheusMeterRegistry registry, PrintWriter out) {
        int port = httpPort != null ? httpPort : self.captureHttpPort();
        if (port <= 0) {
            return null;
        }
        try {
            AgentHttpServer http = new AgentHttpServer(httpBind, port, registry, () -> "joining: " + phase);
            out.println("join metrics on " + httpBind + ":" + http.port() + "/metrics");
            return http;
        } catch (RuntimeException e) {
            out.println("no join metrics: port " + port + " is not free (" + e.getMessage() + "); --http-port picks another");
            return null;
        }
    }

    private void join(MeshConfig config, InstanceConfig peer, JoinMetrics metrics, PrintWriter out, Duration wait, Path spool,
                      long began) throws Exception {
        try (KafkaConnector kafka = new KafkaConnector(self.kafka())) {
            kafka.checkReachable();
            TopicProvisioner.ensure(kafka.admin(), self.id(), 1, config.capture().maxRecordBytes(), self.kafka().retentionMillis());
            try (CaptureFence fence = new CaptureFence(self.kafka().clientProperties(), self.id());
                 RestoreWriter writer = new RestoreWriter(self.redis(), self.id())) {
                JoinTarget target = new JoinTarget(self, writer);
                target.refuseRunningApply();
                target.empty(replaceData);
                target.ensureBacklog(spool);
                PeerCopy.Result copy;
                Map<String, Long> checkpoints;
                SourcePosition start;
                double copySeconds;
                try {
                    phase = "waiting for " + peer.id() + " to apply " + self.changesTopic();
                    awaitPeerAppliedOwnTopic(peer, wait, out);
                    phase = "copying from " + peer.id();
                    target.progress("from " + peer.id() + ": copying (started " + Instant.now() + ")");
                    out.println("copying " + peer.id() + " (" + peer.redis() + ") into " + self.id() + " (" + self.redis() + ")");
                    out.flush();
                    long copyBegan = System.nanoTime();
                    copy = PeerCopy.take(peer.redis(), spool, writer, config.capture().snapshotRdbVersion(), n -> {
                        target.progress("from " + peer.id() + ": " + n + " keys copied");
                        metrics.copied(n);
                        phase = "copying from " + peer.id() + ": " + n + " keys copied";
                        out.println("  " + n + " keys copied");
                        out.flush();
                    });
                    copySeconds = (System.nanoTime() - copyBegan) / 1e9;
                    metrics.copied(copy.keys());
                    phase = "setting the checkpoints";
                    checkpoints = checkpoints(config, copy);
                    try (TopicScan scan = new TopicScan(peer.kafka(), peer.id())) {
                        checkpoints.put(AppliedVector.entry(peer.id(), 0), scan.checkpointAt(copy.replid(), copy.offset(), wait));
                    }
                    start = target.finish(checkpoints);
                    fence.commit(start, AppliedVector.of(checkpoints), copy.keys());
                } catch (Exception | Error e) {
                    failed(target, peer, e);
                    throw e;
                }
                out.printf("copied %d keys (%d MB of payload) from %s at %s:%d in %.1f s (%.0f keys/s)%n", copy.keys(),
                        writer.bytes() / (1024 * 1024), peer.id(), copy.replid(), copy.offset(), copySeconds, copy.keys() / Math.max(copySeconds, 1e-3));
                checkpoints.forEach((entry, offset) -> out.println("  checkpoint " + entry + " = " + offset));
                out.println("capture of " + self.id() + " starts at " + start.getReplid() + ":" + start.getOffset());
                out.printf("joined in %.1f s. Now start %s's capture, then its apply agent, then route clients to it.%n",
                        (System.nanoTime() - began) / 1e9, self.id());
            }
        }
    }

    /** Leaves the failure where ferry status shows it, instead of a join that looks in progress. */
    private static void failed(JoinTarget target, InstanceConfig peer, Throwable e) {
        try {
            target.progress("from " + peer.id() + " FAILED (" + e.getMessage() + "); run ferry join again with --replace-data");
        } catch (RuntimeException ignored) {
            // the Redis is gone too: the command's own error says what failed
        }
    }

    /**
     * A rejoining instance's topic holds what it wrote before; the copy must contain all of it (it does
     * not apply its own topic). Its capture is fenced, so the topic's end is fixed: wait until the peer's
     * checkpoint covers it.
     */
    private void awaitPeerAppliedOwnTopic(InstanceConfig peer, Duration wait, PrintWriter out) throws InterruptedException {
        try (KafkaConnector kafka = new KafkaConnector(self.kafka())) {
            if (kafka.partitions(self.changesTopic()).isEmpty()) {
                return;
            }
        }
        byte[] key = ReplicationPolicy.checkpointKey(self.id(), 0);
        long deadline = System.nanoTime() + wait.toNanos();
        boolean told = false;
        try (TopicScan scan = new TopicScan(self.kafka(), self.id()); RedisConnector redis = new RedisConnector(peer)) {
            while (true) {
                byte[] value = redis.get(key);
                long checkpoint = value == null ? -1 : Long.parseLong(new String(value, StandardCharsets.US_ASCII));
                if (scan.appliedToEnd(checkpoint)) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw new OperatorException(ExitCode.NOT_READY, peer.id() + " has applied " + self.changesTopic() + " only up to"
                            + " offset " + checkpoint + " (the topic ends at " + scan.end() + "): " + self.id() + "'s writes before"
                            + " the join would be missing from the copy. Check " + peer.id() + "'s apply agent (ferry status) and"
                            + " run the join again.");
                }
                if (!told) {
                    out.println("waiting for " + peer.id() + " to apply " + self.changesTopic() + " to its end");
                    out.flush();
                    told = true;
                }
                Thread.sleep(200);
            }
        }
    }

    /**
     * The checkpoints the joined instance starts with for every other instance but the peer: the copy's.
     * An instance the peer has applied nothing of can only be applied from its topic's start.
     */
    private Map<String, Long> checkpoints(MeshConfig config, PeerCopy.Result copy) {
        Map<String, Long> checkpoints = new TreeMap<>();
        for (InstanceConfig other : config.instances().values()) {
            if (other.id().equals(id) || other.id().equals(from)) {
                continue;
            }
            String entry = AppliedVector.entry(other.id(), 0);
            Long offset = copy.checkpoints().get(entry);
            if (offset != null && offset < 0) {
                throw new OperatorException(ExitCode.NOT_READY, from + "'s checkpoint for " + other.id() + " is not a Kafka offset;"
                        + " check __ferry:ckpt:" + other.id() + ":0 in " + from + "'s Redis");
            }
            if (offset != null) {
                checkpoints.put(entry, offset);
                continue;
            }
            try (KafkaConnector kafka = new KafkaConnector(other.kafka())) {
                if (kafka.partitions(other.changesTopic()).isEmpty()) {
                    continue; // nothing published yet: applied from its start, as on the peer
                }
            }
            try (TopicScan scan = new TopicScan(other.kafka(), other.id())) {
                long start = scan.beginning();
                if (start > 0) {
                    throw new OperatorException(ExitCode.NOT_READY, from + " has applied nothing of " + other.id() + "'s topic, which"
                            + " now starts at offset " + start + ": " + id + " could not get " + other.id() + "'s deleted writes."
                            + " Join from an instance that applies " + other.id() + ".");
                }
            }
        }
        return checkpoints;
    }
}
