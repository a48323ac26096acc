package io.ferry.capture;

import io.ferry.capture.eviction.EvictionWatch;
import io.ferry.capture.position.BacklogHeadroom;
import io.ferry.capture.position.PositionStore;
import io.ferry.capture.position.SourceInfo;
import io.ferry.capture.position.SourceOffsetPoller;
import io.ferry.capture.psync.PsyncClient;
import io.ferry.resp.RedisReplyException;
import io.ferry.capture.publish.ChangePublisher;
import io.ferry.capture.publish.Outbox;
import io.ferry.capture.publish.OutboxSink;
import io.ferry.capture.publish.StagedCommandMapper;
import io.ferry.capture.publish.TopicProvisioner;
import io.ferry.capture.snapshot.RdbKeyReader;
import io.ferry.capture.stream.ExpirySeeder;
import io.ferry.capture.stream.ExpiryTracker;
import io.ferry.capture.stream.StreamMapper;
import io.ferry.capture.wipe.SourceKeys;
import io.ferry.capture.wipe.SourceWipedException;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.SourcePosition;
import io.ferry.topology.CaptureSettings;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.KafkaAccess;
import io.ferry.topology.FerryAgent;
import io.ferry.topology.MeshConfig;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The capture agent of one instance: reads its Redis's replication stream as a replica and publishes
 * every change to {@code ferry.<instance>.changes} in Kafka transactions, together with the stream
 * position they reach. Reader (socket → {@link StreamMapper} → {@link Outbox}) and writer
 * ({@link ChangePublisher}) run on their own threads; a supervisor reconnects with backoff and always
 * resumes with {@code PSYNC replid offset+1}. A source that comes back wiped stops the pipeline with
 * nothing published; the supervisor then waits (not ready) until the operator restarts the capture with
 * {@code --accept-wiped-source}, or the source's old replication history is back.
 */
public final class CaptureService implements FerryAgent {

    private static final Logger log = LoggerFactory.getLogger(CaptureService.class);
    private static final long READY_LAG_BYTES = 1024 * 1024;
    private static final int OUTBOX_CAPACITY = 16 * 1024;
    /** Bytes of events between reader and writer: at most an eighth of the heap, so big values streaming through fit. */
    private static final long OUTBOX_BYTES = Math.min(64L * 1024 * 1024, Runtime.getRuntime().maxMemory() / 8);
    private static final long EVICTION_WATCH_WAIT_MILLIS = 3_000;
    private static final long WIPED_CHECK_MILLIS = 1_000;
    private static final long WIPED_POSITION_CHECK_MILLIS = 5_000;

    private final InstanceConfig instance;
    private final CaptureSource source;
    /** The partition of the changes topic this capture writes (0 for a standalone source). */
    private final int shard;
    private final CaptureSettings settings;
    private final CaptureMetrics metrics;
    private final Path spoolDir = Path.of(System.getProperty("java.io.tmpdir"));
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicLong continues = new AtomicLong();
    private final AtomicReference<PsyncClient> client = new AtomicReference<>();
    private final SourceKeys sourceKeys = new SourceKeys();
    private final BacklogHeadroom headroom = new BacklogHeadroom();
    /** The replication id of a wiped source the operator accepted, or null. */
    private final String acceptWiped;
    private volatile SourceInfo latestSource;
    private volatile long latestSourceNanos;
    /** Why the source is not trusted (came back wiped), while waiting for an operator; null otherwise. */
    private volatile String wiped;
    private volatile Thread supervisor;
    /** Where the current Redis session has read and handled the stream to. */
    private volatile AtomicReference<SourcePosition> reading;
    /** Where the current pipeline's reader puts what it read. */
    private volatile OutboxSink sink;
    private volatile boolean closing;
    /** Set by {@link #retire()}: the pipeline's last record marks the partition retired. */
    private volatile boolean retiring;
    /** Whether the partition's retirement record is committed (its last record). */
    private volatile boolean retirementMarked;
    private volatile boolean streaming;
    private volatile String state = "not started";
    private volatile String failure;
    private volatile PsyncClient.SyncMode lastSync;
    private SourceOffsetPoller poller;

    public CaptureService(MeshConfig mesh, String instanceId, MeterRegistry registry) {
        this(mesh, instanceId, registry, null);
    }

    /**
     * @param acceptWiped the new replication id of a source that came back wiped, which the operator accepts
     *                    as it is: its copy is not published, its writes from then on are (null: accept none)
     */
    public CaptureService(MeshConfig mesh, String instanceId, MeterRegistry registry, String acceptWiped) {
        this(mesh, instanceId, CaptureSource.standalone(mesh.instance(instanceId).redis()), registry, acceptWiped);
    }

    /** The capture of one source stream of the instance: a standalone Redis, or one shard of a Redis Cluster. */
    public CaptureService(MeshConfig mesh, String instanceId, CaptureSource source, MeterRegistry registry, String acceptWiped) {
        this.instance = mesh.instance(instanceId);
        this.source = source;
        this.shard = source.partition();
        this.settings = mesh.capture();
        this.metrics = new CaptureMetrics(registry, instanceId, shard);
        this.acceptWiped = acceptWiped == null || acceptWiped.isBlank() ? null : acceptWiped.trim();
    }

    /** Where this capture replicates from now (a cluster shard's master follows failovers). */
    private io.ferry.topology.RedisEndpoint redis() {
        return source.master();
    }

    /** Starts capturing in the background and returns at once. */
    public synchronized void start() {
        if (supervisor != null) {
            return;
        }
        state = "starting";
        poller = new SourceOffsetPoller(source::master, settings.heartbeatMillis(), this::sourceRead);
        supervisor = new Thread(this::supervise, "ferry-capture-" + instance.id() + "-" + shard);
        supervisor.start();
    }

    /** Null when connected to Redis, streaming and caught up; otherwise why not. */
    public String readiness() {
        if (failure != null) {
            return "stopped: " + failure;
        }
        if (closing) {
            return "stopping";
        }
        String wipedReason = wiped;
        if (wipedReason != null) {
            return wipedReason;
        }
        if (!streaming) {
            return state;
        }
        double lag = metrics.lagBytes();
        if (lag > READY_LAG_BYTES) {
            return "behind the source by " + (long) lag + " bytes";
        }
        // heartbeats commit at least every heartbeatMillis: a long silence means Kafka is not taking them
        long silent = metrics.millisSinceLastCommit();
        if (silent > Math.max(5_000, 5L * settings.heartbeatMillis())) {
            return "no Kafka transaction committed for " + silent / 1000 + " s (Kafka at " + instance.kafka() + ")";
        }
        return null;
    }

    /** One INFO reading of the source (poller thread): lag, backlog headroom, key count. */
    private void sourceRead(SourceInfo info) {
        long now = System.nanoTime();
        latestSource = info;
        latestSourceNanos = now;
        metrics.sourceOffset(info.offset());
        metrics.sourceKeys(info.keys());
        sourceKeys.sample(info);
        headroom.observe(now, info.replid(), info.offset());
        double seconds = headroom.seconds(info.backlogSize(), metrics.lagBytes());
        metrics.backlogHeadroom(seconds);
        switch (headroom.classify(seconds, settings.backlogWarnSeconds(), now)) {
            case LOW, STILL_LOW -> log.warn("the replication backlog of {} ({}, repl-backlog-size {} bytes) holds only {} s of its"
                            + " writes at the current {} bytes/s: a capture outage longer than that needs a full resync;"
                            + " raise repl-backlog-size to at least the write rate times the longest outage to ride out",
                    instance.id(), redis(), info.backlogSize(), Math.round(seconds), Math.round(headroom.bytesPerSecond()));
            case RECOVERED -> log.info("the replication backlog of {} holds {} s of its writes again", instance.id(), Math.round(seconds));
            case NONE -> { }
        }
    }

    /** Why the source is not trusted (it came back wiped) while the capture waits for an operator, or null. */
    public String wiped() {
        return wiped;
    }

    /** Why the capture stopped for good (for example fenced by another capture), or null. */
    public String failure() {
        return failure;
    }

    /** How the most recent replication session started, or null before the first one. */
    public PsyncClient.SyncMode lastSync() {
        return lastSync;
    }

    /** End offset of the last stream command read and handled (published, filtered or skipped); -1 before any. */
    public long readOffset() {
        AtomicReference<SourcePosition> current = reading;
        SourcePosition position = current == null ? null : current.get();
        return position == null ? -1 : position.getOffset();
    }

    /**
     * Marks the point the reader has reached in this partition ({@link io.ferry.capture.publish.Outbox.Mark}):
     * completes with the offset of the partition's last record before it once committed. Only from the
     * reader's thread, while it handles a command.
     */
    public CompletableFuture<Long> markCommitted() throws InterruptedException {
        OutboxSink current = sink;
        if (current == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("partition " + shard + " is not streaming"));
        }
        return current.mark();
    }

    /** Sessions resumed with +CONTINUE since start. */
    public long continuedSessions() {
        return continues.get();
    }

    public CaptureMetrics metrics() {
        return metrics;
    }

    @Override
    public boolean isRunning() {
        return stopped.getCount() > 0;
    }

    /** Waits until the capture has stopped (closed or failed); false on timeout. */
    public boolean awaitStop(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void supervise() {
        long backoff = 200;
        try {
            while (!closing) {
                try {
                    runPipeline();
                    backoff = 200;
                } catch (SourceWipedException e) {
                    waitWhileWiped(e);
                    backoff = 200;
                } catch (ProducerFencedException | InvalidProducerEpochException e) {
                    failure = "another capture for instance " + instance.id() + " took over (Kafka fenced this one)";
                    log.error("{}; stopping", failure);
                    return;
                } catch (AuthorizationException e) {
                    failure = refusedByKafka(e);
                    log.error("capture of {} cannot go on: {}", instance.id(), failure);
                    return;
                } catch (ChangePublisher.RecordTooLargeForTopicException | RdbKeyReader.TooBigToConvertException e) {
                    // a full resync would only meet the same record or key again
                    failure = e.getMessage();
                    log.error("capture of {} cannot go on: {}", instance.id(), failure);
                    return;
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    if (closing) {
                        return;
                    }
                    if (fatalCause(e)) {
                        continue;
                    }
                    metrics.reconnect();
                    state = "retrying after: " + e.getMessage();
                    log.warn("capture of {} interrupted ({}); retrying from the committed position in {} ms",
                            instance.id(), e instanceof IOException ? e.getMessage() : describe(e), backoff);
                    Thread.sleep(backoff);
                    backoff = Math.min(backoff * 2, 10_000);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            streaming = false;
            stopped.countDown();
        }
    }

    /**
     * The source came back wiped and nothing of it was published: say so (log, metric, /readyz) and wait,
     * with no Kafka producer open, until closed or until the source is on the committed history again
     * (its data restored with its replication id, or a replica that had it promoted).
     */
    private void waitWhileWiped(SourceWipedException e) throws InterruptedException {
        wiped = e.readiness();
        state = e.readiness();
        metrics.sourceWiped(true);
        log.error("{}", e.getMessage());
        long detected = System.nanoTime();
        long lastPositionCheck = detected;
        try {
            while (!closing) {
                Thread.sleep(WIPED_CHECK_MILLIS);
                SourceInfo source = latestSource;
                // only a reading taken after the detection: an older one may predate the wipe
                if (source != null && latestSourceNanos - detected > 0 && source.continues(e.previousReplid())) {
                    log.info("the source of {} is on replication history {} again: resuming from the committed position",
                            instance.id(), e.previousReplid());
                    return;
                }
                if (System.nanoTime() - lastPositionCheck > TimeUnit.MILLISECONDS.toNanos(WIPED_POSITION_CHECK_MILLIS)) {
                    lastPositionCheck = System.nanoTime();
                    if (reseeded(e.previousReplid())) {
                        return;
                    }
                }
            }
        } finally {
            wiped = null;
            metrics.sourceWiped(false);
        }
    }

    /**
     * Whether {@code ferry join} re-seeded the source meanwhile: the committed position then names the
     * source's new replication history, and the capture resumes from it without publishing the copy.
     */
    private boolean reseeded(String previousReplid) {
        try {
            PositionStore.Stored stored = PositionStore.load(instance.kafka().clientProperties(), instance.id(), shard,
                    Duration.ofSeconds(10)).orElse(null);
            if (stored != null && !stored.position().getReplid().equals(previousReplid)) {
                log.info("the source of {} was re-seeded (ferry join): resuming from the new committed position {}:{}",
                        instance.id(), stored.position().getReplid(), stored.position().getOffset());
                return true;
            }
        } catch (RuntimeException e) {
            log.debug("could not read the committed position of {}: {}", instance.id(), e.toString());
        }
        return false;
    }

    private boolean fatalCause(Exception e) {
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
                failure = "another capture for instance " + instance.id() + " took over (Kafka fenced this one)";
                log.error("{}; stopping", failure);
                closing = true;
                return true;
            }
            if (t instanceof RdbKeyReader.TooBigToConvertException tooBig) {
                failure = tooBig.getMessage();
                log.error("capture of {} cannot go on: {}", instance.id(), failure);
                closing = true;
                return true;
            }
            // a missing ACL does not grant itself: stop and name it instead of retrying forever
            if (t instanceof AuthorizationException refused) {
                failure = refusedByKafka(refused);
                log.error("capture of {} cannot go on: {}", instance.id(), failure);
                closing = true;
                return true;
            }
        }
        return false;
    }

    private String refusedByKafka(AuthorizationException refused) {
        return KafkaAccess.explain(KafkaAccess.Role.CAPTURE, instance.id(), List.of(), shard + 1,
                KafkaAccess.principal(instance.kafka().properties()), refused);
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    /** One producer lifetime: Kafka writer plus as many Redis sessions as it takes. */
    private void runPipeline() throws Exception {
        Properties kafka = instance.kafka().clientProperties();
        state = "connecting to Kafka at " + instance.kafka();
        Properties adminProps = new Properties();
        adminProps.putAll(kafka);
        adminProps.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        adminProps.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        try (Admin admin = Admin.create(adminProps)) {
            TopicProvisioner.ensure(admin, instance.id(), 1, settings.maxRecordBytes(), instance.kafka().retentionMillis());
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof AuthorizationException auth) {
                throw auth;
            }
            throw new IOException("Kafka at " + instance.kafka() + " is unreachable or refused to set up the topics of "
                    + instance.id() + ": " + describe(cause), cause);
        }
        try (ChangePublisher publisher = openPublisher(kafka)) {
            PositionStore.Stored stored = storedPosition(kafka);
            SourcePosition start = stored == null ? null : stored.position();
            AppliedVector applied = stored == null ? AppliedVector.EMPTY : stored.applied();
            if (stored != null) {
                sourceKeys.restore(start.getReplid(), stored.sourceKeys());
            }
            publisher.startFrom(start, applied);
            if (start != null) {
                metrics.positionLoaded(start.getOffset());
                log.info("capture of {} resumes from committed position {}:{} (db {})", instance.id(),
                        start.getReplid(), start.getOffset(), start.getDb());
            } else {
                log.info("capture of {} has no committed position: starting with a full snapshot", instance.id());
            }
            Outbox outbox = new Outbox(OUTBOX_CAPACITY, OUTBOX_BYTES);
            AtomicReference<Throwable> writerFailure = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                try {
                    publisher.run(outbox);
                } catch (Throwable t) {
                    writerFailure.set(t);
                    PsyncClient current = client.get();
                    if (current != null) {
                        current.close();
                    }
                }
            }, "ferry-capture-writer-" + instance.id() + "-" + shard);
            writer.start();
            // a failed writer is gone from the moment its failure is set, though its thread still closes the Redis
            // connection: the reader must not reconnect and go on filling the outbox of a fenced producer
            BooleanSupplier writerGone = () -> writerFailure.get() != null || !writer.isAlive();
            OutboxSink sink = new OutboxSink(instance.id(), shard, settings.maxRecordBytes(), outbox, () -> closing || writerGone.getAsBoolean(), metrics);
            sink.startApplied(applied);
            this.sink = sink;
            try {
                readSessions(start, sink, writerGone);
            } finally {
                streaming = false;
                if (writer.isAlive()) {
                    try {
                        outbox.put(new Outbox.Stop(retiring), () -> !writer.isAlive());
                    } catch (Outbox.OutboxClosedException ignored) {
                        // writer already gone
                    }
                    writer.join(60_000);
                }
                if (!writer.isAlive() && publisher.markedRetired()) {
                    retirementMarked = true;
                }
            }
            Throwable failed = writerFailure.get();
            if (failed instanceof Exception ex) {
                throw ex;
            } else if (failed instanceof Error err) {
                throw err;
            }
        }
    }

    /** Redis sessions, each resuming where the previous one's last complete event ended. */
    private void readSessions(SourcePosition start, OutboxSink sink, BooleanSupplier writerGone) throws InterruptedException {
        try (EvictionWatch evictions = settings.filterEvictions() ? new EvictionWatch(redis()) : null) {
            metrics.evictionWatch(evictions);
            readSessions(start, sink, writerGone, evictions);
        }
    }

    private void readSessions(SourcePosition start, OutboxSink sink, BooleanSupplier writerGone, EvictionWatch evictions)
            throws InterruptedException {
        io.ferry.topology.RedisEndpoint master = redis();
        ExpiryTracker expiries = new ExpiryTracker();
        AtomicReference<SourcePosition> resume = new AtomicReference<>(start);
        reading = resume;
        long backoff = 200;
        boolean seeded = start == null;
        String evictionWarning = null;
        while (!closing && !writerGone.getAsBoolean()) {
            if (!master.equals(redis())) {
                // a cluster shard failed over: the next pipeline watches evictions and reads TTLs on the new master
                log.info("the source of {} partition {} moved from {} to {}: following it", instance.id(), shard, master, redis());
                return;
            }
            if (!seeded) {
                seeded = seedExpiries(expiries);
            }
            PsyncClient psync = new PsyncClient(redis(), spoolDir, 10_000)
                    .spillValuesAbove(StagedCommandMapper.spillThreshold(settings.maxRecordBytes()),
                            spoolDir.resolve("ferry-" + instance.id() + "-" + shard + "-values"));
            client.set(psync);
            if (closing) {
                psync.close();
                return;
            }
            if (evictions != null && !evictions.awaitFirstAttempt(EVICTION_WATCH_WAIT_MILLIS)
                    && !evictions.inactiveReason().equals(evictionWarning)) {
                evictionWarning = evictions.inactiveReason();
                log.warn("starting replication from {} without telling evictions apart ({})", redis(), evictionWarning);
            }
            state = "connecting to Redis at " + redis();
            ReplicationSession session = new ReplicationSession(instance, source, settings, metrics, psync, sink, expiries,
                    evictions, resume, status, () -> closing, sourceKeys, acceptWiped);
            try {
                SourcePosition from = resume.get();
                source.checkStreamable(redis());
                psync.run(from == null ? null : from.getReplid(), from == null ? -1 : from.getOffset(), session);
            } catch (Outbox.OutboxClosedException e) {
                return;
            } catch (SourceWipedException e) {
                throw e; // nothing of the wiped source was handed to the writer; the supervisor waits
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                streaming = false;
                if (e instanceof RedisReplyException reply && reply.accessDenied()) {
                    // Where ACL DRYRUN could not check at start (Redis 6.2): stop rather than retry forever.
                    failure = "Redis user of instance " + instance.id() + " may not run what the capture agent needs ("
                            + e.getMessage() + "); grant it (the README's 'Redis users' has the ACL SETUSER line)";
                    log.error("{}; stopping", failure);
                    closing = true;
                    return;
                }
                if (closing || writerGone.getAsBoolean()) {
                    return;
                }
                if (session.progressed()) {
                    backoff = 200;
                }
                metrics.reconnect();
                state = "Redis at " + psync.endpoint() + " unavailable: " + e.getMessage();
                log.warn("replication from {} for {} stopped ({}); reconnecting in {} ms", psync.endpoint(), instance.id(),
                        describe(e), backoff);
                Thread.sleep(backoff);
                backoff = Math.min(backoff * 2, 10_000);
            } finally {
                client.set(null);
            }
        }
    }

    private final ReplicationSession.Status status = new ReplicationSession.Status() {
        @Override
        public void synced(PsyncClient.SyncMode mode) {
            lastSync = mode;
            if (mode == PsyncClient.SyncMode.CONTINUE) {
                continues.incrementAndGet();
            }
        }

        @Override
        public void state(String description, boolean isStreaming) {
            state = description;
            streaming = isStreaming;
        }
    };

    /** Resuming: learn the TTLs set before the committed position, which the stream will not repeat. */
    private boolean seedExpiries(ExpiryTracker expiries) {
        state = "reading TTLs from Redis at " + redis();
        try {
            ExpirySeeder.seed(redis(), expiries, System::currentTimeMillis);
            return true;
        } catch (IOException | RuntimeException e) {
            log.warn("could not read TTLs from {} ({}); until they are learnt again, an expiry of a key whose TTL was set "
                    + "before this restart is published like a user's DEL", redis(), describe(e));
            return false;
        }
    }

    /**
     * Drops the Redis connection (the source moved, e.g. a cluster shard's replica was promoted): the
     * capture reconnects to {@link CaptureSource#master()} and resumes with PSYNC from where it was.
     */
    public void reconnect() {
        PsyncClient current = client.get();
        if (current != null) {
            current.close();
        }
    }

    /**
     * Stops for good because the partition is retired (its shard is gone or carried by another partition):
     * the last record tells peers so ({@link io.ferry.schemas.ReplicationPolicy#RETIRED_HEADER}), and the
     * partition's meters are removed, so neither a peer's lag nor an alert keeps watching it.
     */
    public void retire() {
        retiring = true;
        close();
        if (!retirementMarked) {
            markRetired();
        }
        if (retirementMarked) {
            log.info("partition {} of {} is retired: its last record says so, and nothing more is published to it", shard,
                    instance.id());
        }
        metrics.remove();
    }

    /**
     * Commits the retirement record with a writer of its own, after the pipeline stopped without it (it
     * was retired before its writer started, or the writer had failed); opening it fences any other.
     */
    private void markRetired() {
        Properties kafka = instance.kafka().clientProperties();
        try (ChangePublisher publisher = openPublisher(kafka)) {
            PositionStore.Stored stored = storedPosition(kafka);
            if (stored == null) {
                log.info("partition {} of {} is retired before its first committed position: it holds nothing to mark", shard,
                        instance.id());
                return;
            }
            publisher.startFrom(stored.position(), stored.applied());
            Outbox outbox = new Outbox(1, OUTBOX_BYTES);
            outbox.put(new Outbox.Stop(true), () -> false);
            publisher.run(outbox);
            retirementMarked = publisher.markedRetired();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.error("could not mark partition {} of {} retired ({}): peers and ferry status keep taking it for a live partition"
                    + " until a capture of {} marks it", shard, instance.id(), describe(e), instance.id());
        }
    }

    /** This partition's writer; opening it fences any other writer of the partition. */
    private ChangePublisher openPublisher(Properties kafka) {
        ChangePublisher publisher = new ChangePublisher(kafka, instance.id(), shard, settings, metrics, metrics::sourceOffset,
                sourceKeys);
        publisher.shardNodes(source::shardNodes);
        return publisher;
    }

    /** The last committed position of this partition, or null before its first. */
    private PositionStore.Stored storedPosition(Properties kafka) {
        return PositionStore.load(kafka, instance.id(), shard, Duration.ofSeconds(30)).orElse(null);
    }

    /** Commits the open transaction and stops; waits up to a minute. */
    @Override
    public void close() {
        closing = true;
        PsyncClient current = client.get();
        if (current != null) {
            current.close();
        }
        Thread thread = supervisor;
        if (thread != null) {
            try {
                thread.join(5_000);
                if (thread.isAlive()) {
                    thread.interrupt(); // blocked waiting for Kafka or Redis: give up waiting
                }
                thread.join(55_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (poller != null) {
            poller.close();
        }
        log.info("capture of {} stopped; committed position offset {}", instance.id(), metrics.committedOffset());
        stopped.countDown();
    }
}
