package io.ferry.cli.lifecycle;

import io.ferry.capture.publish.TopicProvisioner;
import io.ferry.cli.ExitCode;
import io.ferry.cli.MeshOptions;
import io.ferry.cli.OperatorException;
import io.ferry.cli.connect.KafkaConnector;
import io.ferry.cli.connect.RedisConnector;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.AgentHttpServer;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.MeshConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.apache.kafka.common.TopicPartition;
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
 *   <li>the peer's copy (PSYNC ? -1, an RDB at replication offset O; one per master of a cluster, each
 *       at its own O) is restored key by key; its {@code __ferry:ckpt:*} keys say where the peer stood in
 *       every other instance's topic at O, per slot on a cluster ({@link SlotCheckpoints});</li>
 *   <li>the peer's own topic is read from a record at or before O to the first record past O: the
 *       checkpoint for the peer's topic (per partition, each from its shard's O);</li>
 *   <li>every checkpoint is written (one MULTI/EXEC, one per slot on a cluster); each server's replication
 *       offset right after it is committed as its capture's position, so the capture resumes there and
 *       never publishes the copy.</li>
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
                + " resumes by itself.",
                "Either may be a Redis Cluster: a cluster PEER is copied master by master and INSTANCE gets per-slot checkpoints"
                + " where the copies of its shards stand at different points; a cluster INSTANCE gets its keys through the"
                + " cluster routing, checkpoints on the master of every slot and a capture position per master."})
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
            // the offsets topic first: a cluster's shards get the partitions its stored positions name
            TopicProvisioner.ensure(kafka.admin(), self.id(), 1, config.capture().maxRecordBytes(), self.kafka().retentionMillis());
            RedisShards targetShards = RedisShards.of(self);
            if (targetShards.unservedSlots() > 0) {
                throw new OperatorException(ExitCode.NOT_READY, self.id() + "'s cluster (" + self.redis() + ") serves no slot of "
                        + targetShards.unservedSlots() + " slot(s): assign every slot before the join");
            }
            int partitions = targetShards.partitions().stream().mapToInt(p -> p + 1).max().orElse(1);
            TopicProvisioner.ensure(kafka.admin(), self.id(), partitions, config.capture().maxRecordBytes(), self.kafka().retentionMillis());
            Set<Integer> fenced = new TreeSet<>(targetShards.partitions());
            kafka.partitions(self.changesTopic()).ifPresent(list -> list.forEach(tp -> fenced.add(tp.partition())));
            try (CaptureFence fence = new CaptureFence(self.kafka().clientProperties(), self.id(), fenced);
                 RestoreWriter writer = new RestoreWriter(self.redis(), self.id());
                 JoinTarget target = new JoinTarget(self, writer, targetShards)) {
                target.refuseRunningApply();
                target.empty(replaceData);
                target.ensureBacklog(spool);
                SlotCheckpoints checkpoints = new SlotCheckpoints();
                List<JoinTarget.Start> starts;
                List<String> copies = new ArrayList<>();
                double copySeconds;
                try {
                    phase = "waiting for " + peer.id() + " to apply " + self.changesTopic();
                    awaitPeerAppliedOwnTopic(peer, wait, out);
                    RedisShards sourceShards = RedisShards.of(peer);
                    if (sourceShards.unservedSlots() > 0) {
                        throw new OperatorException(ExitCode.NOT_READY, peer.id() + "'s cluster (" + peer.redis() + ") serves no slot of "
                                + sourceShards.unservedSlots() + " slot(s): its copy would miss their keys; join once every slot is served");
                    }
                    Map<Integer, Long> retired = retiredPartitions(peer, sourceShards);
                    Map<String, Long> before = appliedBefore(config, peer);
                    phase = "copying from " + peer.id();
                    target.progress("from " + peer.id() + ": copying (started " + Instant.now() + ")");
                    long copyBegan = System.nanoTime();
                    long copiedBefore = 0;
                    for (RedisShards.Shard shard : sourceShards.shards()) {
                        out.println("copying " + peer.id() + " (" + shard.node() + ", " + shard.slots().cardinality() + " slots) into "
                                + self.id() + " (" + self.redis() + ")");
                        out.flush();
                        long base = copiedBefore;
                        PeerCopy.Result copy = PeerCopy.take(shard.node(), spool, writer, config.capture().snapshotRdbVersion(), n -> {
                            target.progress("from " + peer.id() + ": " + (base + n) + " keys copied");
                            metrics.copied(base + n);
                            phase = "copying from " + peer.id() + ": " + (base + n) + " keys copied";
                            out.println("  " + (base + n) + " keys copied");
                            out.flush();
                        });
                        copiedBefore += copy.keys();
                        metrics.copied(copiedBefore);
                        checkpoints.addCopy(shard.slots(), others(config, copy.checkpoints()), others(config, copy.slotCheckpoints()), before);
                        try (TopicScan scan = new TopicScan(peer.kafka(), peer.id(), shard.partition())) {
                            checkpoints.setAll(AppliedVector.entry(peer.id(), shard.partition()),
                                    scan.checkpointAt(copy.replid(), copy.offset(), wait));
                        }
                        copies.add(copy.keys() + " keys from " + shard.node() + " at " + copy.replid() + ":" + copy.offset());
                    }
                    RedisShards.of(peer).requireSameSlots(sourceShards, peer.id());
                    // the copy holds every write of a retired partition: its keys moved to the shards copied
                    retired.forEach((partition, last) -> checkpoints.setAll(AppliedVector.entry(peer.id(), partition), last));
                    copySeconds = (System.nanoTime() - copyBegan) / 1e9;
                    phase = "setting the checkpoints";
                    requireReachable(config, checkpoints);
                    starts = target.finish(checkpoints);
                    AppliedVector applied = AppliedVector.of(checkpoints.wholes());
                    for (JoinTarget.Start start : starts) {
                        fence.commit(start.partition(), start.position(), applied, start.keys(), start.nodeIds());
                    }
                } catch (Exception | Error e) {
                    failed(target, peer, e);
                    throw e;
                }
                out.printf("copied %d keys (%d MB of payload) from %s in %.1f s (%.0f keys/s)%n", writer.keys(),
                        writer.bytes() / (1024 * 1024), peer.id(), copySeconds, writer.keys() / Math.max(copySeconds, 1e-3));
                copies.forEach(copy -> out.println("  " + copy));
                for (String entry : checkpoints.entries()) {
                    long floor = checkpoints.floor(entry);
                    long ceiling = checkpoints.ceiling(entry);
                    out.println("  checkpoint " + entry + " = " + (floor == ceiling ? Long.toString(floor)
                            : floor + " (per slot up to " + ceiling + ")"));
                }
                for (JoinTarget.Start start : starts) {
                    out.println("capture of " + self.id() + (starts.size() > 1 ? " partition " + start.partition() : "") + " starts at "
                            + start.position().getReplid() + ":" + start.position().getOffset());
                }
                out.printf("joined in %.1f s. Now start %s's capture, then its apply agent, then route clients to it.%n",
                        (System.nanoTime() - began) / 1e9, self.id());
            }
        }
    }

    /** The entries of {@code checkpoints} that name another instance of the mesh than the joined one and the peer. */
    private <V> Map<String, V> others(MeshConfig config, Map<String, V> checkpoints) {
        Map<String, V> kept = new TreeMap<>();
        checkpoints.forEach((entry, value) -> {
            String origin = entry.substring(0, entry.lastIndexOf(':'));
            if (!origin.equals(id) && !origin.equals(from) && config.instances().containsKey(origin)) {
                kept.put(entry, value);
            }
        });
        return kept;
    }

    /**
     * The partitions of the peer's topic no shard of the peer publishes to now, each with the offset the joined
     * instance has applied of it: its end. Such a partition was retired by a reshard of the peer's cluster; its
     * last record says so, and its writes are in the keys its shard handed on to the shards copied. A partition
     * with records but without that last record is refused: nothing says where its writes end.
     */
    private static Map<Integer, Long> retiredPartitions(InstanceConfig peer, RedisShards shards) {
        Map<Integer, Long> retired = new TreeMap<>();
        try (KafkaConnector kafka = new KafkaConnector(peer.kafka())) {
            for (TopicPartition partition : kafka.partitions(peer.changesTopic()).orElse(List.of())) {
                if (shards.partitions().contains(partition.partition())) {
                    continue;
                }
                try (TopicScan scan = new TopicScan(peer.kafka(), peer.id(), partition.partition())) {
                    long end = scan.end();
                    if (end == 0) {
                        continue;
                    }
                    if (!scan.endsRetired()) {
                        throw new OperatorException(ExitCode.NOT_READY, partition + " holds " + peer.id() + "'s writes but no shard of "
                                + peer.id() + " publishes to it now, and its last record does not mark it retired (the capture of "
                                + peer.id() + " marks a partition retired once its shard has left the cluster and everything it read"
                                + " is published). Start or let " + peer.id() + "'s capture catch up (ferry status), then run the join again");
                    }
                    retired.put(partition.partition(), end - 1);
                }
            }
        }
        return retired;
    }

    /**
     * The peer's whole-partition checkpoints of every other instance, read live before any copy is taken: they
     * only grow, so each holds for every slot of every copy taken afterwards ({@link SlotCheckpoints}).
     */
    private Map<String, Long> appliedBefore(MeshConfig config, InstanceConfig peer) {
        Map<String, Long> before = new TreeMap<>();
        try (RedisConnector redis = new RedisConnector(peer)) {
            for (InstanceConfig other : config.instances().values()) {
                if (other.id().equals(id) || other.id().equals(from)) {
                    continue;
                }
                List<TopicPartition> partitions;
                try (KafkaConnector kafka = new KafkaConnector(other.kafka())) {
                    partitions = kafka.partitions(other.changesTopic()).orElse(List.of());
                }
                for (TopicPartition partition : partitions) {
                    byte[] value = redis.get(ReplicationPolicy.checkpointKey(other.id(), partition.partition()));
                    if (value == null) {
                        continue;
                    }
                    try {
                        before.put(AppliedVector.entry(other.id(), partition.partition()),
                                Long.parseLong(new String(value, StandardCharsets.US_ASCII)));
                    } catch (NumberFormatException e) {
                        throw new OperatorException(ExitCode.NOT_READY, from + "'s checkpoint for " + other.id() + " is not a Kafka"
                                + " offset; check " + new String(ReplicationPolicy.checkpointKey(other.id(), partition.partition()),
                                StandardCharsets.UTF_8) + " in " + from + "'s Redis");
                    }
                }
            }
        }
        return before;
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
     * not apply its own topic). Its capture is fenced, so the end of each partition is fixed: wait until the
     * peer's checkpoints cover it (per slot on a cluster peer, whose whole checkpoint trails by a batch).
     */
    private void awaitPeerAppliedOwnTopic(InstanceConfig peer, Duration wait, PrintWriter out) throws InterruptedException {
        List<TopicPartition> partitions;
        try (KafkaConnector kafka = new KafkaConnector(self.kafka())) {
            partitions = kafka.partitions(self.changesTopic()).orElse(List.of());
        }
        long deadline = System.nanoTime() + wait.toNanos();
        boolean told = false;
        try (RedisConnector redis = new RedisConnector(peer)) {
            for (TopicPartition partition : partitions) {
                byte[] key = ReplicationPolicy.checkpointKey(self.id(), partition.partition());
                try (TopicScan scan = new TopicScan(self.kafka(), self.id(), partition.partition())) {
                    while (true) {
                        long checkpoint = offset(redis.get(key));
                        Map<Integer, Long> slots = new HashMap<>();
                        if (scan.appliedToEnd(checkpoint, slot -> slots.computeIfAbsent(slot, s -> offset(redis.get(
                                ReplicationPolicy.slotCheckpointKey(self.id(), partition.partition(), HashSlot.tag(s))))))) {
                            break;
                        }
                        if (System.nanoTime() > deadline) {
                            throw new OperatorException(ExitCode.NOT_READY, peer.id() + " has applied " + partition + " only up to"
                                    + " offset " + checkpoint + " (it ends at " + scan.end() + "): " + self.id() + "'s writes before"
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
        }
    }

    private static long offset(byte[] checkpoint) {
        return checkpoint == null ? -1 : Long.parseLong(new String(checkpoint, StandardCharsets.US_ASCII));
    }

    /**
     * A partition of another instance where some slot of the copy has applied nothing is applied from its
     * topic's start there, as on the peer: refused when that start has been deleted.
     */
    private void requireReachable(MeshConfig config, SlotCheckpoints checkpoints) {
        for (InstanceConfig other : config.instances().values()) {
            if (other.id().equals(id) || other.id().equals(from)) {
                continue;
            }
            List<TopicPartition> partitions;
            try (KafkaConnector kafka = new KafkaConnector(other.kafka())) {
                partitions = kafka.partitions(other.changesTopic()).orElse(List.of()); // none yet: applied from its start
            }
            for (TopicPartition partition : partitions) {
                if (checkpoints.floor(AppliedVector.entry(other.id(), partition.partition())) >= 0) {
                    continue;
                }
                try (TopicScan scan = new TopicScan(other.kafka(), other.id(), partition.partition())) {
                    long start = scan.beginning();
                    if (start > 0) {
                        throw new OperatorException(ExitCode.NOT_READY, from + " has applied nothing of " + partition + " (in some"
                                + " slots at least), which now starts at offset " + start + ": " + id + " could not get " + other.id()
                                + "'s deleted writes. Join from an instance that applies " + other.id() + ".");
                    }
                }
            }
        }
    }
}
