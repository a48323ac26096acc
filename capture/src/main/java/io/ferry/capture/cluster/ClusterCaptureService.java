package io.ferry.capture.cluster;

import io.ferry.capture.CaptureService;
import io.ferry.capture.CaptureSource;
import io.ferry.capture.position.PositionStore;
import io.ferry.capture.publish.TopicProvisioner;
import io.ferry.resp.RedisConnection;
import io.ferry.resp.Role;
import io.ferry.resp.cluster.NodeAddress;
import io.ferry.schemas.AppliedVector;
import io.ferry.topology.FerryAgent;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.MeshConfig;
import io.ferry.topology.RedisEndpoint;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The capture agent of an instance whose Redis is a Redis Cluster ({@code redis.cluster: true}): finds
 * the shards from the seed node and runs one {@link CaptureService} per shard, each replicating from its
 * shard's master (PSYNC) into the shard's own partition of the changes topic, with its own position and
 * transactional ids. Which partition a shard gets is {@link ShardPartitions}'s decision. The cluster's
 * node table is read again every second, so a shard's capture follows its master through a failover
 * (PSYNC replid/offset on the promoted replica: +CONTINUE), a shard that appears gets a new partition and
 * one whose nodes all left is retired. Slot migrations publish nothing ({@link SlotMigrations}).
 *
 * <p>Ordering: each shard's stream stays in order in its partition, so every key's changes stay in
 * order on a peer while its slot stays on one shard. A key's writes before and after its slot moved are
 * in two partitions: the first record the new shard publishes after a migration names, in its applied
 * vector, the offset of the old shard's partition that holds the key's earlier writes, and peers apply it
 * only after that ({@link SlotMigrations}). Otherwise there is no order across shards, as in Redis
 * Cluster itself.
 */
public final class ClusterCaptureService implements FerryAgent {

    private static final Logger log = LoggerFactory.getLogger(ClusterCaptureService.class);
    private static final int TIMEOUT_MILLIS = 5_000;
    private static final long REFRESH_MILLIS = 1_000;

    /** Partitions retired since this capture started (or found retired at start): never captured again. */
    private final Set<Integer> retired = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final MeshConfig mesh;
    private final InstanceConfig instance;
    private final MeterRegistry registry;
    private final String acceptWiped;
    /** The running capture of each partition. */
    private final Map<Integer, ShardCapture> captures = new ConcurrentSkipListMap<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final SlotMigrations migrations;
    private volatile ClusterShards topology;
    private volatile Thread supervisor;
    private volatile boolean closing;
    private volatile String state = "not started";
    private volatile String failure;

    public ClusterCaptureService(MeshConfig mesh, String instanceId, MeterRegistry registry, String acceptWiped) {
        this.mesh = mesh;
        this.instance = mesh.instance(instanceId);
        if (!instance.redis().cluster()) {
            throw new IllegalArgumentException("instance " + instanceId + "'s Redis is not marked cluster: true");
        }
        this.registry = registry;
        this.acceptWiped = acceptWiped;
        this.migrations = new SlotMigrations(instance.id(), captures::values);
    }

    /** One shard's capture and what it knows of its shard; the node ids are refreshed from the node table. */
    private final class ShardCapture implements CaptureSource, SlotMigrations.Stream {
        private final int partition;
        private volatile ClusterShards.Shard shard;
        /** Every node id seen in this shard: it only grows, so a node that changes role stays recognised. */
        private volatile String identity;
        private final CaptureService service;
        /** Whether the shard joined the cluster while this capture ran: it holds only keys moved into it. */
        private final boolean joined;

        ShardCapture(int partition, ClusterShards.Shard shard, String stored, boolean joined) {
            this.partition = partition;
            this.joined = joined;
            this.shard = shard;
            this.identity = union(stored, shard.nodeIds());
            this.service = new CaptureService(mesh, instance.id(), this, registry, acceptWiped);
        }

        @Override
        public int partition() {
            return partition;
        }

        @Override
        public RedisEndpoint master() {
            return shard.endpoint(instance.redis());
        }

        @Override
        public String shardNodes() {
            return identity;
        }

        @Override
        public boolean slotMigration(byte[][] argv, long endOffset) throws IOException, InterruptedException {
            return migrations.isMigration(this, argv, endOffset);
        }

        @Override
        public CompletableFuture<AppliedVector> movedIn() {
            return migrations.movedIn(this);
        }

        @Override
        public boolean snapshotKey(byte[] key) {
            if (joined) {
                migrations.snapshotKey(this, key);
            }
            return joined;
        }

        @Override
        public boolean hasNode(String nodeId) {
            return List.of(identity.split(",")).contains(nodeId);
        }

        @Override
        public CompletableFuture<Long> markCommitted() throws InterruptedException {
            return service.markCommitted();
        }

        @Override
        public void checkStreamable(RedisEndpoint node) throws IOException {
            try (RedisConnection connection = RedisConnection.open(node, TIMEOUT_MILLIS)) {
                if (!Role.of(connection).master()) {
                    throw new IOException(node + " is no longer a master: waiting for the node table to name the master of partition "
                            + partition + "'s shard");
                }
            }
        }

        @Override
        public long readOffset() {
            return service.readOffset();
        }
    }

    @Override
    public synchronized void start() {
        if (supervisor != null) {
            return;
        }
        state = "discovering the shards of " + instance.redis();
        supervisor = new Thread(this::supervise, "ferry-capture-cluster-" + instance.id());
        supervisor.start();
    }

    private void supervise() {
        long backoff = 200;
        try {
            while (!closing && captures.isEmpty()) {
                try {
                    startShards(read());
                } catch (IOException | RuntimeException | java.util.concurrent.ExecutionException
                         | java.util.concurrent.TimeoutException e) {
                    state = "cannot start the capture of the cluster " + instance.redis() + ": " + e.getMessage();
                    log.warn("{}; retrying in {} ms", state, backoff);
                    Thread.sleep(backoff);
                    backoff = Math.min(backoff * 2, 10_000);
                }
            }
            while (!closing) {
                Thread.sleep(REFRESH_MILLIS);
                for (ShardCapture capture : captures.values()) {
                    if (!capture.service.isRunning() && capture.service.failure() != null) {
                        failure = "partition " + capture.partition + ": " + capture.service.failure();
                        log.error("capture of {} stops: the capture of {}", instance.id(), failure);
                        return;
                    }
                }
                try {
                    follow(read());
                } catch (IOException | RuntimeException | java.util.concurrent.ExecutionException
                         | java.util.concurrent.TimeoutException e) {
                    log.debug("could not read the node table of {}: {}", instance.redis(), e.toString());
                }
                try {
                    migrations.settleUnpaired();
                } catch (IOException | RuntimeException e) {
                    log.debug("could not check the restores of {} waiting for their DEL: {}", instance.id(), e.toString());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (failure != null) {
                closeShards();
                stopped.countDown();
            }
        }
    }

    /** The node table from any node known to answer: the last known masters and replicas first, then the seed. */
    private ClusterShards read() throws IOException {
        Set<NodeAddress> candidates = new LinkedHashSet<>();
        ClusterShards known = topology;
        if (known != null) {
            known.shards().forEach(s -> candidates.add(s.master()));
        }
        captures.values().forEach(c -> candidates.add(c.shard.master()));
        candidates.add(new NodeAddress(instance.redis().host(), instance.redis().port()));
        IOException last = null;
        for (NodeAddress node : candidates) {
            try {
                ClusterShards read = ClusterShards.read(node.endpoint(instance.redis()), TIMEOUT_MILLIS);
                topology = read;
                return read;
            } catch (IOException e) {
                last = e;
            }
        }
        throw new IOException("no node of the cluster answered CLUSTER NODES (tried " + candidates + ")", last);
    }

    /** First start: the topic gets a partition per shard, each shard the partition its stored positions name. */
    private void startShards(ClusterShards shards) throws IOException, InterruptedException,
            java.util.concurrent.ExecutionException, java.util.concurrent.TimeoutException {
        if (shards.shards().isEmpty()) {
            throw new IOException("the cluster at " + instance.redis() + " has no master");
        }
        if (shards.servedSlots() < 16384) {
            log.warn("the cluster at {} serves {} of 16384 slots: capturing the {} shard(s) that serve slots", instance.redis(),
                    shards.servedSlots(), shards.shards().size());
        }
        ensureTopics(shards.shards().size());
        Properties kafka = instance.kafka().clientProperties();
        Map<Integer, String> stored = PositionStore.shardNodes(kafka, instance.id(), Duration.ofSeconds(30));
        Map<ClusterShards.Shard, Integer> assigned = ShardPartitions.assign(stored, shards.shards());
        int partitions = assigned.values().stream().mapToInt(p -> p + 1).max().orElse(1);
        if (partitions > shards.shards().size()) {
            ensureTopics(partitions);
        }
        for (int retired : ShardPartitions.retired(stored, assigned)) {
            this.retired.add(retired);
            log.warn("partition {} of {} was captured from a shard none of whose nodes ({}) is a master serving slots now: it is"
                    + " retired (its records stay; it is not reused)", retired, instance.id(), stored.get(retired));
        }
        assigned.forEach((shard, partition) -> {
            log.info("capturing shard {} (master {}, {} slots from slot {}, nodes {}) into partition {}", shard.masterId(),
                    shard.master(), shard.slots(), shard.lowestSlot(), shard.nodes(), partition);
            ShardCapture capture = new ShardCapture(partition, shard, stored.get(partition), false);
            captures.put(partition, capture);
            capture.service.start();
        });
        state = null;
    }

    /**
     * Follows the node table: a shard's capture learns its shard's current master and nodes (matched by
     * node ids, so a promoted replica is the same shard); a shard no capture knows gets a new partition.
     */
    private void follow(ClusterShards shards) throws InterruptedException, java.util.concurrent.ExecutionException,
            java.util.concurrent.TimeoutException {
        Map<Integer, String> running = new java.util.TreeMap<>();
        captures.forEach((partition, capture) -> running.put(partition, capture.identity));
        ShardPartitions.Matching matching = ShardPartitions.match(running, shards.shards());
        List<ClusterShards.Shard> unknown = matching.unknown();
        for (int partition : matching.superseded()) {
            ShardCapture capture = captures.remove(partition);
            log.warn("partition {} of {} was captured from node(s) {} that now belong to the shard of another partition (a master"
                    + " without slots made a replica): its capture stops and the partition is retired", partition, instance.id(),
                    capture.shard.nodes());
            retire(capture);
        }
        matching.matched().forEach((partition, shard) -> {
            ShardCapture capture = captures.get(partition);
            if (!capture.shard.equals(shard)) {
                boolean moved = !capture.shard.master().equals(shard.master());
                if (moved) {
                    log.info("shard of partition {} of {} has a new master {} (was {})", capture.partition, instance.id(),
                            shard.master(), capture.shard.master());
                }
                capture.shard = shard;
                capture.identity = union(capture.identity, shard.nodeIds());
                if (moved) {
                    // the old master may stay up as a replica and keep streaming: follow the shard's new master
                    capture.service.reconnect();
                }
            }
        });
        for (ShardCapture capture : captures.values()) {
            if (shards.shards().stream().noneMatch(shard -> shard.sameShardAs(capture.identity))
                    && !shards.knows(Set.of(capture.identity.split(",")))) {
                // every node of the shard left the cluster: what it had was moved away (and read) before
                log.warn("shard of partition {} of {} (nodes {}) left the cluster: its capture stops and the partition is retired",
                        capture.partition, instance.id(), capture.shard.nodes());
                captures.remove(capture.partition);
                retire(capture);
            }
        }
        if (unknown.isEmpty()) {
            return;
        }
        Map<Integer, String> used = new java.util.TreeMap<>();
        captures.forEach((partition, capture) -> used.put(partition, capture.identity));
        Properties kafka = instance.kafka().clientProperties();
        PositionStore.shardNodes(kafka, instance.id(), Duration.ofSeconds(30)).forEach(used::putIfAbsent);
        Map<ClusterShards.Shard, Integer> assigned = ShardPartitions.assign(used, unknown);
        ensureTopics(assigned.values().stream().mapToInt(p -> p + 1).max().orElse(1));
        assigned.forEach((shard, partition) -> {
            if (retired.contains(partition)) {
                // a node table behind the others (gossip) can still show a superseded shard's node as a master
                log.debug("shard {} (nodes {}) belongs to retired partition {}: not captured again", shard.masterId(), shard.nodes(),
                        partition);
                return;
            }
            log.info("new shard {} (master {}, {} slots from slot {}): capturing it into partition {}", shard.masterId(),
                    shard.master(), shard.slots(), shard.lowestSlot(), partition);
            ShardCapture capture = new ShardCapture(partition, shard, used.get(partition), true);
            captures.put(partition, capture);
            capture.service.start();
        });
    }

    /** Stops the capture of a partition for good, marking it retired; the partition is never captured again. */
    private void retire(ShardCapture capture) {
        retired.add(capture.partition);
        new Thread(capture.service::retire, "ferry-capture-retire-" + capture.partition).start();
    }

    /** {@code stored} (comma-separated node ids, or null) plus {@code ids}, sorted, comma-separated. */
    private static String union(String stored, Set<String> ids) {
        Set<String> all = new java.util.TreeSet<>(ids);
        if (stored != null && !stored.isBlank()) {
            all.addAll(List.of(stored.split(",")));
        }
        return String.join(",", all);
    }

    private void ensureTopics(int partitions) throws InterruptedException, java.util.concurrent.ExecutionException,
            java.util.concurrent.TimeoutException {
        Properties admin = new Properties();
        admin.putAll(instance.kafka().clientProperties());
        admin.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        admin.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        try (Admin client = Admin.create(admin)) {
            TopicProvisioner.ensure(client, instance.id(), partitions, mesh.capture().maxRecordBytes(),
                    instance.kafka().retentionMillis());
        }
    }

    /** The captures by partition (for tests and status). */
    public Map<Integer, CaptureService> shards() {
        Map<Integer, CaptureService> shards = new java.util.TreeMap<>();
        captures.forEach((partition, capture) -> shards.put(partition, capture.service));
        return shards;
    }

    @Override
    public String readiness() {
        if (failure != null) {
            return "stopped: " + failure;
        }
        if (state != null) {
            return state;
        }
        String notReady = captures.entrySet().stream()
                .filter(e -> e.getValue().service.readiness() != null)
                .map(e -> "partition " + e.getKey() + " (" + e.getValue().shard.master() + "): " + e.getValue().service.readiness())
                .collect(Collectors.joining("; "));
        return notReady.isEmpty() ? null : notReady;
    }

    @Override
    public String failure() {
        return failure;
    }

    @Override
    public boolean isRunning() {
        return stopped.getCount() > 0;
    }

    public boolean awaitStop(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void closeShards() {
        // close in parallel: each commits its open transaction, which may take a moment
        List<Thread> closers = new ArrayList<>();
        for (ShardCapture capture : captures.values()) {
            Thread closer = new Thread(capture.service::close, "ferry-capture-close-" + capture.partition);
            closer.start();
            closers.add(closer);
        }
        for (Thread closer : closers) {
            try {
                closer.join(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public void close() {
        closing = true;
        Thread thread = supervisor;
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closeShards();
        migrations.close();
        stopped.countDown();
    }
}
