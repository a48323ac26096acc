package io.ferry.apply;

import io.ferry.apply.batch.BatchBuilder;
import io.ferry.apply.batch.EventBatch;
import io.ferry.apply.batch.AppliedSlotsReader;
import io.ferry.apply.batch.PartitionState;
import io.ferry.apply.batch.SlotSplitter;
import io.ferry.apply.conflict.ConflictPublisher;
import io.ferry.apply.consume.OffsetGapException;
import io.ferry.apply.consume.PeerConsumer;
import io.ferry.apply.convergence.Convergence;
import io.ferry.apply.deadletter.DeadLetterPublisher;
import io.ferry.apply.findings.FindingsOutbox;
import io.ferry.apply.findings.FindingsTopics;
import io.ferry.apply.metrics.ApplyMetrics;
import io.ferry.apply.redis.RedisTargetClient;
import io.ferry.apply.redis.RedisUnavailableException;
import io.ferry.apply.resync.ResyncReconciler;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.ApplySettings;
import io.ferry.topology.CaptureSettings;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.KafkaAccess;
import io.ferry.topology.KafkaEndpoint;
import io.ferry.topology.FerryAgent;
import io.ferry.topology.MeshConfig;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The apply agent of one instance: consumes every peer's changes topic and applies the events to this
 * instance's Redis exactly once, in pipelined {@code MULTI; …; SET <checkpoint>; EXEC} batches. The
 * checkpoint in Redis decides where to resume after a crash, a rebalance or a Redis outage; it is also
 * the origin tag this instance's capture agent recognises, so applied writes never travel back.
 */
public final class ApplyService implements FerryAgent {

    private static final Logger LOG = LoggerFactory.getLogger(ApplyService.class);
    private static final Duration POLL = Duration.ofMillis(100);
    /** Record bytes per batch; a batch is held about three times (records, decoded events, commands): a sixteenth of the heap at most. */
    private static final long MAX_BATCH_BYTES = Math.min(16L * 1024 * 1024, Runtime.getRuntime().maxMemory() / 16);
    private static final long MAX_CAUSAL_WAIT_NANOS = 10_000_000_000L;
    /** Times a resync batch is judged again after writes here aborted it, before starting over from the checkpoint. */
    private static final int MAX_WATCH_ATTEMPTS = 20;
    /** How long a resync batch waits for a slot of its keys to finish moving, before starting over from its checkpoint. */
    private static final long MAX_SLOT_MOVE_WAIT_NANOS = 30_000_000_000L;

    private final MeshConfig mesh;
    private final String self;
    private final String memberId;
    private final ApplySettings settings;
    private final ApplyMetrics metrics;
    private final RedisTargetClient redis;
    private BatchBuilder builder;
    private Convergence convergence;
    private ResyncReconciler reconciler;
    /** Partitions whose next event waits for writes its origin had applied before it, since when (nanos). */
    private final Map<TopicPartition, Long> waitingSince = new HashMap<>();
    private final List<PeerConsumer> consumers = new ArrayList<>();
    private Producer<byte[], byte[]> producer;
    private FindingsOutbox findings;
    private FindingsTopics findingsTopics;
    private BatchApplier applier;
    private Thread thread;
    private volatile boolean running;
    private volatile boolean started;
    private volatile String redisProblem;
    private volatile String failure;
    private boolean connectedBefore;
    private long backoffMillis;
    private long nextRedisAttempt;
    private long nextLagUpdate;

    public ApplyService(MeshConfig mesh, String instanceId, MeterRegistry registry) {
        this(mesh, instanceId, registry, null);
    }

    /**
     * @param memberId stable id of this replica in the consumer group (static membership: a restarted
     *                 replica gets its partitions back at once); null for dynamic membership
     */
    public ApplyService(MeshConfig mesh, String instanceId, MeterRegistry registry, String memberId) {
        this.mesh = mesh;
        this.self = mesh.instance(instanceId).id();
        this.memberId = memberId;
        this.settings = mesh.apply();
        this.metrics = new ApplyMetrics(registry, self, mesh.capture().heartbeatMillis());
        this.redis = new RedisTargetClient(mesh.instance(self).redis(), Duration.ofSeconds(30), ReplicationPolicy.applyGroup(self));
        mesh.peersOf(self).forEach(peer -> metrics.peer(peer.id()));
        this.backoffMillis = settings.retryBackoffMillis();
    }

    /** Creates the agent's own topics if needed and starts applying on a thread of its own. */
    public synchronized void start() {
        if (thread != null) {
            throw new IllegalStateException("already started");
        }
        InstanceConfig own = mesh.instance(self);
        int findingsLimit = FindingsTopics.recordLimit(CaptureSettings.recordLimit(mesh.capture().maxRecordBytes()));
        findingsTopics = new FindingsTopics(own.kafka(), self, findingsLimit);
        findingsTopics.ensure();
        producer = new KafkaProducer<>(producerProperties(own.kafka(), findingsLimit));
        findings = new FindingsOutbox(producer, redis, self, findingsLimit);
        ConflictPublisher conflicts = new ConflictPublisher(findings, self, metrics);
        convergence = new Convergence(mesh, self, conflicts, metrics);
        SlotSplitter slots = new SlotSplitter(new AppliedSlotsReader(redis));
        applier = new BatchApplier(redis, new DeadLetterPublisher(findings, self, metrics), conflicts, metrics, convergence,
                findings, () -> running, slots);
        Convergence settling = convergence;
        boolean republish = mesh.apply().republishGuardedKeys();
        ResyncReconciler.GuardedKeys guarded = republish ? convergence::requestAfterResync : convergence::recordAfterResync;
        reconciler = new ResyncReconciler(mesh, self, redis, metrics, guarded, republish, entry -> {
            PartitionState state = statesByEntry().get(entry);
            return state == null ? -1 : state.checkpoint();
        }, convergence::appliedHere);
        builder = new BatchBuilder(self, new BatchBuilder.Admission() {
            @Override
            public boolean admit(io.ferry.schemas.ChangeEvent event, ConsumerRecord<byte[], byte[]> record) {
                return settling.admit(event, record);
            }

            @Override
            public void replayed(io.ferry.schemas.ChangeEvent event, ConsumerRecord<byte[], byte[]> record) {
                settling.replayed(event, record);
            }
        }, reconciler);
        // One consumer per Kafka cluster: each peer's topic lives in that peer's (regional) Kafka.
        Map<String, KafkaEndpoint> clusters = new LinkedHashMap<>();
        Map<String, Map<String, String>> topicsByCluster = new LinkedHashMap<>();
        for (InstanceConfig peer : mesh.peersOf(self)) {
            clusters.putIfAbsent(peer.kafka().bootstrap(), peer.kafka());
            topicsByCluster.computeIfAbsent(peer.kafka().bootstrap(), k -> new HashMap<>()).put(peer.changesTopic(), peer.id());
        }
        for (Map.Entry<String, KafkaEndpoint> cluster : clusters.entrySet()) {
            PeerConsumer consumer = new PeerConsumer(self, cluster.getValue(), topicsByCluster.get(cluster.getKey()), settings, memberId,
                    Convergence.LOOKBACK);
            consumer.subscribe();
            consumers.add(consumer);
        }
        running = true;
        thread = new Thread(this::run, "ferry-apply-" + self);
        thread.start();
        LOG.info("apply agent for '{}' started: applying {} into {}", self, mesh.peerTopicsOf(self), mesh.instance(self).redis());
    }

    /** Null when ready; otherwise why not (starting, Redis unreachable, reading checkpoints, stopped). */
    public String readiness() {
        if (failure != null) {
            return "stopped: " + failure;
        }
        if (redisProblem != null) {
            return "redis unavailable: " + redisProblem;
        }
        String findingsProblem = findings == null ? null : findings.problem();
        if (findingsProblem != null) {
            return findingsProblem;
        }
        String topicsProblem = findingsTopics == null ? null : findingsTopics.problem();
        if (topicsProblem != null) {
            return topicsProblem;
        }
        if (!started) {
            return "starting";
        }
        return null;
    }

    /** Why the agent stopped on its own (for example a gap in Kafka), or null while it runs or after close(). */
    public String failure() {
        return failure;
    }

    public boolean isRunning() {
        Thread t = thread;
        return t != null && t.isAlive();
    }

    private void run() {
        try {
            while (running) {
                if (!ensureRedis()) {
                    for (PeerConsumer consumer : consumers) {
                        consumer.poll(Duration.ofMillis(Math.max(1, Math.min(100, nextRedisAttempt - System.currentTimeMillis()))));
                    }
                    continue;
                }
                try {
                    started = true;
                    for (PeerConsumer consumer : consumers) {
                        consumer.resolvePending(redis);
                        long polling = System.nanoTime();
                        ConsumerRecords<byte[], byte[]> records = consumer.poll(consumers.size() == 1 ? POLL : POLL.dividedBy(consumers.size()));
                        long applying = System.nanoTime();
                        applyAll(consumer, records);
                        consumer.commitAppliedWhenDue();
                        // conflicts found here pair writes whose checkpoints have passed: kept in Redis until Kafka has them
                        findings.afterCommit(convergence::pollOwnWrites);
                        if (convergence.hasRepairs()) {
                            findings.afterCommit(() -> convergence.runRepairs(redis));
                            findings.awaitAcknowledged(() -> running);
                        }
                        if (LOG.isDebugEnabled() && !records.isEmpty()) {
                            LOG.debug("poll: {} records in {} µs, applied in {} µs", records.count(),
                                    (applying - polling) / 1000, (System.nanoTime() - applying) / 1000);
                        }
                    }
                    backoffMillis = settings.retryBackoffMillis();
                    updateLag();
                    findingsTopics.recheckWhenDue();
                } catch (RedisUnavailableException e) {
                    redisLost(e);
                } catch (FindingsOutbox.StoppedWhilePending e) {
                    LOG.warn("{}", e.getMessage());
                } catch (RetriableException e) {
                    // Kafka unreachable for a moment (broker restart): nothing was applied for the
                    // partitions concerned; the consumer reconnects by itself.
                    LOG.warn("Kafka not answering ({}); retrying", e.toString());
                }
            }
        } catch (OffsetGapException e) {
            fail(e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            AuthorizationException refused = refusedByKafka(e);
            // a missing ACL does not grant itself: stop with the grant to add
            fail(refused != null ? KafkaAccess.explain(KafkaAccess.Role.APPLY, self, mesh.peersOf(self).stream().map(InstanceConfig::id).toList(),
                    1, KafkaAccess.principal(mesh.instance(self).kafka().properties()), refused) : "unexpected " + e, e);
        } finally {
            shutdown();
        }
    }

    private void applyAll(PeerConsumer consumer, ConsumerRecords<byte[], byte[]> records) {
        if (records.isEmpty()) {
            return;
        }
        Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> remaining = new LinkedHashMap<>();
        for (TopicPartition tp : records.partitions()) {
            remaining.put(tp, records.records(tp));
        }
        Map<TopicPartition, Integer> cursor = new HashMap<>();
        // Rounds of at most one batch per partition; the poll's records are all applied before the next
        // poll (a rebalance can only happen inside poll, never with a batch half done), unless close()
        // asks to stop: then the round in flight finishes and the rest is read again next time.
        // While one round is in Redis the next one is decoded and built, but not sent before the first
        // is settled, so an EXECABORT re-run can never overtake a later batch of the same source.
        BatchApplier.InFlight flying = null;
        // A resync snapshot is reconciled against Redis and Kafka while it is built: nothing may be in flight then.
        boolean resyncing = false;
        for (ConsumerRecord<byte[], byte[]> record : records) {
            if (ResyncReconciler.isResync(record)) {
                resyncing = true;
                break;
            }
        }
        while (true) {
            if (resyncing && flying != null) {
                applier.finish(flying);
                flying = null;
            }
            List<EventBatch> next = running ? nextRound(consumer, remaining, cursor) : List.of();
            if (flying != null) {
                applier.finish(flying);
                flying = null;
            }
            if (next.isEmpty()) {
                rewindWaiting(consumer, remaining, cursor);
                return;
            }
            List<EventBatch> pipelined = new ArrayList<>();
            for (EventBatch batch : next) {
                if (reconciler != null && reconciler.reconciling(batch)) {
                    applyReconciling(batch);
                } else {
                    pipelined.add(batch);
                }
            }
            flying = pipelined.isEmpty() ? null : applier.send(pipelined);
        }
    }

    /**
     * Applies a batch of a resync snapshot alone (as one transaction per slot on a cluster target), its overwritten keys
     * watched: a transaction that a write made here after its keys were judged aborts, or that its slot's move turns
     * away, is judged and sent again. Its other transactions stay applied: each moves only its own slot's checkpoint.
     */
    private void applyReconciling(EventBatch batch) {
        List<EventBatch> due = applier.transactions(batch);
        List<EventBatch> committed = new ArrayList<>();
        long movingSince = 0;
        for (int attempt = 1; !due.isEmpty(); ) {
            ResyncReconciler.Round round = reconciler.watchOverwrites(due);
            List<EventBatch> notRun = null;
            try {
                notRun = applier.applyWatched(round.send(), round.watches());
            } finally {
                if (notRun == null) {
                    redis.release(round.watches()); // not run (Kafka or Redis failed): free what holds the WATCHes
                }
            }
            for (EventBatch sent : round.send()) {
                if (!notRun.contains(sent)) {
                    committed.add(sent);
                }
            }
            if (!notRun.isEmpty()) {
                if (attempt++ == MAX_WATCH_ATTEMPTS) {
                    throw new RedisUnavailableException("writes here aborted a resync batch of " + batch.partition().partition()
                            + " " + MAX_WATCH_ATTEMPTS + " times; starting over from its checkpoint", null);
                }
                LOG.debug("a key of a resync batch of {} was written here before it ran; judging it again", batch.partition().partition());
            }
            if (round.slotMoving()) {
                long now = System.nanoTime();
                movingSince = movingSince == 0 ? now : movingSince;
                if (now - movingSince > MAX_SLOT_MOVE_WAIT_NANOS) {
                    throw new RedisUnavailableException("a slot of a resync batch of " + batch.partition().partition()
                            + " kept moving for " + MAX_SLOT_MOVE_WAIT_NANOS / 1_000_000_000L + " s; starting over from its checkpoint", null);
                }
                pause(20); // a slot half migrated: its keys can be watched once the move is done
            }
            due = new ArrayList<>(round.later());
            for (EventBatch aborted : notRun) {
                due.add(aborted.rewritten(Map.of(), aborted.overwrites()));
            }
        }
        reconciler.committed(committed);
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Partitions left with records that waited for other peers' writes: Kafka delivers them again next poll. */
    private void rewindWaiting(PeerConsumer consumer, Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> remaining,
                               Map<TopicPartition, Integer> cursor) {
        for (var entry : remaining.entrySet()) {
            int from = cursor.getOrDefault(entry.getKey(), 0);
            if (from < entry.getValue().size() && consumer.state(entry.getKey()) != null) {
                consumer.rewind(entry.getKey(), entry.getValue().get(from).offset());
            }
        }
    }

    /**
     * End (exclusive, at most {@code to}) of the records from {@code from} whose writes may be applied now:
     * an event waits until every write its origin had applied before it (its applied vector) is applied here
     * too, so a write never overtakes one it depends on (a repair never lands before the write it settles).
     * The vector may name the record's own origin: a Redis Cluster origin's record that follows a slot
     * migration waits for the old shard's partition. A peer partition not assigned to this agent cannot be
     * checked and does not hold anything back. A record waits while the partition it waits for keeps applying
     * (a lagging partition catching up), and at most {@link #MAX_CAUSAL_WAIT_NANOS} once that one stands still.
     */
    private int causallyReady(PeerConsumer consumer, TopicPartition partition, List<ConsumerRecord<byte[], byte[]>> records,
                              int from, int to, Map<String, PartitionState> statesByEntry) {
        String peer = consumer.peerOf(partition);
        for (int i = from; i < to; i++) {
            AppliedVector vector = convergence.vectorOf(records.get(i));
            convergence.observe(peer, vector);
            for (Map.Entry<String, Long> needed : vector.asMap().entrySet()) {
                PartitionState dependency = statesByEntry.get(needed.getKey());
                if (dependency != null && dependency.checkpoint() < needed.getValue()) {
                    if (i > from) {
                        return i;
                    }
                    long now = System.nanoTime();
                    long since = waitingSince.computeIfAbsent(partition, p -> now);
                    if (keepsWaiting(now, since, dependency.advancedNanos())) {
                        if (since == now) {
                            metrics.peer(peer).causalWait();
                        }
                        return i;
                    }
                    LOG.warn("{} at offset {} waited {} s for {} up to offset {} (applied here: {}, not moving for {} s); applying it"
                            + " anyway", partition, records.get(i).offset(), (now - since) / 1_000_000_000L, needed.getKey(),
                            needed.getValue(), dependency.checkpoint(), (now - dependency.advancedNanos()) / 1_000_000_000L);
                    waitingSince.remove(partition);
                    return to;
                }
            }
        }
        waitingSince.remove(partition);
        return to;
    }

    /**
     * Whether a record that has waited since {@code since} for a partition whose checkpoint last moved at
     * {@code advanced} waits on at {@code now} (all {@link System#nanoTime()}): while that partition keeps
     * applying, and for {@link #MAX_CAUSAL_WAIT_NANOS} once both stand still.
     */
    static boolean keepsWaiting(long now, long since, long advanced) {
        return now - Math.max(since, advanced) < MAX_CAUSAL_WAIT_NANOS;
    }

    private Map<String, PartitionState> statesByEntry() {
        Map<String, PartitionState> states = new HashMap<>();
        for (PeerConsumer consumer : consumers) {
            for (PartitionState state : consumer.states()) {
                states.put(AppliedVector.entry(state.peer(), state.partition().partition()), state);
            }
        }
        return states;
    }

    private List<EventBatch> nextRound(PeerConsumer consumer, Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> remaining,
                                       Map<TopicPartition, Integer> cursor) {
        List<EventBatch> batches = new ArrayList<>();
        Map<String, PartitionState> statesByEntry = statesByEntry();
        for (var it = remaining.entrySet().iterator(); it.hasNext(); ) {
            var entry = it.next();
            PartitionState state = consumer.state(entry.getKey());
            List<ConsumerRecord<byte[], byte[]>> list = entry.getValue();
            int from = cursor.getOrDefault(entry.getKey(), 0);
            if (state == null || from >= list.size()) {
                it.remove();
                continue;
            }
            int to = causallyReady(consumer, entry.getKey(), list, from, batchEnd(list, from), statesByEntry);
            if (to == from || (reconciler != null && ResyncReconciler.isResync(list.get(from)) && !reconciler.ready(state, list.get(from)))) {
                continue; // waits for another peer's writes, or for its own; tried again next round or next poll
            }
            batches.add(builder.build(state, list.subList(from, to)));
            cursor.put(entry.getKey(), to);
        }
        return batches;
    }

    /**
     * End (exclusive) of the next batch from {@code from}: at most maxBatchEvents records and, so that a
     * run of big snapshot keys does not become one huge transaction, about {@link #MAX_BATCH_BYTES}.
     */
    private int batchEnd(List<ConsumerRecord<byte[], byte[]>> records, int from) {
        int limit = Math.min(records.size(), from + settings.maxBatchEvents());
        long bytes = 0;
        for (int i = from; i < limit; i++) {
            if (i > from && ResyncReconciler.isResync(records.get(i)) && (ResyncReconciler.isEnd(records.get(i))
                    || ResyncReconciler.isStart(records.get(i)) || !ResyncReconciler.isResync(records.get(i - 1)))) {
                // a resync's start (also one right after an interrupted snapshot) waits for this instance's own writes
                // to be read, and its end is reconciled against Redis holding every key before it: each begins a batch
                return i;
            }
            byte[] value = records.get(i).value();
            bytes += value == null ? 0 : value.length;
            if (bytes >= MAX_BATCH_BYTES) {
                return i + 1;
            }
        }
        return limit;
    }

    /** Connects to Redis when needed, respecting the backoff; false while Redis is still unavailable. */
    private boolean ensureRedis() {
        if (redis.isConnected()) {
            return true;
        }
        long now = System.currentTimeMillis();
        if (now < nextRedisAttempt) {
            return false;
        }
        try {
            redis.connect();
            if (!connectedBefore) {
                findings.replayJournal();
                findings.awaitAcknowledged(() -> running);
            }
            if (connectedBefore) {
                // Lost (or cut off by a replica that was handed partitions): what this replica holds in
                // memory may be stale, so every partition resumes from the checkpoint Redis holds.
                consumers.forEach(PeerConsumer::resetFromCheckpoints);
                metrics.reconnected();
                LOG.info("reconnected to Redis {}; resuming every partition from its checkpoint", mesh.instance(self).redis());
            }
            connectedBefore = true;
            redisProblem = null;
            return true;
        } catch (RedisUnavailableException e) {
            redisLost(e);
            return false;
        }
    }

    private void redisLost(RedisUnavailableException e) {
        if (redisProblem == null) {
            LOG.warn("Redis unavailable ({}); retrying with backoff, nothing is skipped", e.getMessage());
        } else {
            LOG.debug("Redis still unavailable: {}", e.getMessage());
        }
        redisProblem = e.getMessage();
        redis.disconnect();
        // Whether the last EXEC ran is unknown: every partition resumes from the checkpoint Redis holds.
        consumers.forEach(PeerConsumer::resetFromCheckpoints);
        nextRedisAttempt = System.currentTimeMillis() + backoffMillis;
        backoffMillis = Math.min(settings.maxBackoffMillis(), backoffMillis * 2);
    }

    private void updateLag() {
        long now = System.currentTimeMillis();
        if (now < nextLagUpdate) {
            return;
        }
        nextLagUpdate = now + 500;
        for (PeerConsumer consumer : consumers) {
            consumer.lagByPeer().forEach((peer, lag) -> metrics.peer(peer).lagRecords(lag));
        }
    }

    private static AuthorizationException refusedByKafka(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof AuthorizationException refused) {
                return refused;
            }
        }
        return null;
    }

    private void fail(String message, Throwable e) {
        failure = message;
        running = false;
        LOG.error("apply agent for '{}' stopped: {}", self, message, e);
    }

    private void shutdown() {
        if (convergence != null) {
            convergence.close();
        }
        if (reconciler != null) {
            reconciler.close();
        }
        for (PeerConsumer consumer : consumers) {
            try {
                consumer.close();
            } catch (RuntimeException e) {
                LOG.warn("closing consumer: {}", e.toString());
            }
        }
        if (producer != null) {
            try {
                producer.close(Duration.ofSeconds(10));
            } catch (RuntimeException e) {
                LOG.warn("closing producer: {}", e.toString());
            }
        }
        redis.close();
    }

    /** Finishes the batch in flight, commits group offsets and stops. */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            running = false;
            t = thread;
        }
        if (t == null) {
            redis.close();
            return;
        }
        try {
            t.join(TimeUnit.SECONDS.toMillis(60));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("apply agent for '{}' stopped", self);
    }

    private Map<String, Object> producerProperties(KafkaEndpoint kafka, int maxRecordBytes) {
        Map<String, Object> props = new HashMap<>();
        kafka.clientProperties().forEach((k, v) -> props.put(String.valueOf(k), v));
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "ferry-apply-" + self + "-findings");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        // No linger: the agent waits for these acknowledgements before its next MULTI/EXEC.
        props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(maxRecordBytes));
        // A missing topic fails the send after this long (then sent again by the outbox) instead of
        // blocking the apply thread for the default minute per record.
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return props;
    }
}
