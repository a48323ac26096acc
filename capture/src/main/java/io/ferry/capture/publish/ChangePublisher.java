package io.ferry.capture.publish;

import io.ferry.capture.CaptureMetrics;
import io.ferry.capture.position.PositionStore;
import io.ferry.capture.wipe.SourceKeys;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.Heartbeat;
import io.ferry.schemas.KeyExpiries;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import io.ferry.topology.CaptureSettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka writer: drains the {@link Outbox} into Kafka transactions (transactional.ids fixed per
 * instance and shard, so a second capture fences the first). Transactions alternate between
 * {@link ReplicationPolicy#CAPTURE_LANES} producers: Kafka writes a transaction's commit markers after
 * the commit returns, and the same producer's next transaction would wait for them (the broker retries
 * it 20 ms later), while the other lane's can start at once. A lane's transaction begins only when the
 * previous one's commit has returned, so the log keeps the stream's order. Each transaction carries
 * its events and the position of the last resumable one, written to the offsets topic; a transaction
 * is committed as soon as the outbox has nothing more immediately available (adaptive: what arrives during a commit
 * rides in the next one), or at the latest after {@code transactionMaxEvents} events or
 * {@code transactionMaxMillis}. Inside a snapshot only the limits apply. Every {@code heartbeatMillis}
 * a HEARTBEAT event goes out with the current position, busy or idle (when idle it is committed alone).
 * Every change event and position record carries the applied vector as of its position in the
 * {@link ReplicationPolicy#APPLIED_HEADER} header; position records also carry the source's key count
 * ({@link ReplicationPolicy#SOURCE_KEYS_HEADER}) for the wipe guard.
 *
 * <p>On a Redis Cluster source the header also names the instance's own other partitions an event must be
 * applied after (a key's writes before its slot moved here are in the old shard's partition): an event
 * with {@link Outbox.Event#orderAfter} waits for those entries before it is sent, and every later record
 * carries them too. Such entries stay out of the stored position, which keeps what the apply agent had
 * applied of peers only. {@link Outbox.Mark}s tell the other partitions which offset here covers a point
 * of this stream.
 */
public final class ChangePublisher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ChangePublisher.class);
    /** How long an event waits for the records another partition must have before it; then it goes out with a warning. */
    public static final long ORDER_WAIT_MILLIS = 30_000;

    private final String instance;
    private final int shard;
    private final String changesTopic;
    private final CaptureSettings settings;
    private final CaptureMetrics metrics;
    private final LongSupplier sourceOffset;
    private final SourceKeys sourceKeys;
    private final List<KafkaProducer<byte[], byte[]>> lanes;
    private volatile Supplier<String> shardNodes = () -> null;
    /** The lane of the open (or next) transaction. */
    private int lane;
    private final ChangeEventEncoder events = new ChangeEventEncoder();
    /** Origin and kind headers per event kind, built once (Kafka copies them into each record's own list). */
    private final List<List<Header>> headersByKind;
    private final int recordLimit;

    private SourcePosition committed;
    private SourcePosition current;
    private SourcePosition pending;
    /** The applied vector at {@code current} and at {@code pending}. */
    private AppliedVector currentApplied = AppliedVector.EMPTY;
    private AppliedVector pendingApplied = AppliedVector.EMPTY;
    /** Entries of the instance's own other partitions that every record from here on must be applied after. */
    private AppliedVector ordering = AppliedVector.EMPTY;
    private Header appliedHeader = appliedHeader(AppliedVector.EMPTY);
    private final CommitMarks marks = new CommitMarks();
    private boolean inTransaction;
    private boolean inSnapshot;
    private int transactionEvents;
    private long transactionStart;
    private long lastHeartbeat = System.nanoTime();
    /** Whether {@link #run} committed the record that marks the partition retired. */
    private boolean markedRetired;

    /** Opens the transactional producers (fencing any older capture of this instance on every lane). */
    public ChangePublisher(Properties kafka, String instance, int shard, CaptureSettings settings, CaptureMetrics metrics,
                           LongSupplier sourceOffset, SourceKeys sourceKeys) {
        this.instance = instance;
        this.shard = shard;
        this.changesTopic = ReplicationPolicy.changesTopic(instance);
        this.settings = settings;
        this.metrics = metrics;
        this.sourceOffset = sourceOffset;
        this.sourceKeys = sourceKeys;
        Header origin = new RecordHeader(ReplicationPolicy.ORIGIN_HEADER, instance.getBytes(StandardCharsets.UTF_8));
        this.headersByKind = java.util.Arrays.stream(EventKind.values())
                .map(kind -> List.<Header>of(origin, new RecordHeader(ReplicationPolicy.KIND_HEADER, kind.name().getBytes(StandardCharsets.UTF_8))))
                .toList();
        this.recordLimit = TopicProvisioner.recordLimit(settings.maxRecordBytes());
        Properties props = new Properties();
        props.putAll(kafka);
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.putIfAbsent(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        // commits are adaptive and flush the transaction's batches anyway; lingering only adds latency
        props.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "1");
        props.putIfAbsent(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 * 1024));
        // a quarter of the heap at most (big values stream through here chunk after chunk), room for one record at least
        long bufferMemory = Math.max(Math.min(128L * 1024 * 1024, Runtime.getRuntime().maxMemory() / 4), recordLimit + 1024L * 1024);
        props.putIfAbsent(ProducerConfig.BUFFER_MEMORY_CONFIG, Long.toString(bufferMemory));
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(recordLimit));
        props.putIfAbsent(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "60000");
        props.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000");
        // the first send of a transaction may meet the previous commit's markers still being written
        // (CONCURRENT_TRANSACTIONS); retry soon instead of stalling the stream for the default 100 ms
        props.putIfAbsent(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "5");
        props.putIfAbsent(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "500");
        // with several requests in flight, one CONCURRENT_TRANSACTIONS reject makes every later request of the
        // partition fail with OUT_OF_ORDER_SEQUENCE_NUMBER and retry with its own backoff, stalling the stream;
        // one at a time costs little here because each commit flushes the transaction anyway
        props.putIfAbsent(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        List<KafkaProducer<byte[], byte[]>> opened = openLanes(props, instance, shard);
        this.lanes = opened;
    }

    /**
     * Opens the transactional producers of every lane of {@code instance}'s capture for {@code shard}, which
     * fences any other producer holding those ids (an older capture, or one running while {@code ferry join}
     * or {@code ferry leave} holds them).
     */
    public static List<KafkaProducer<byte[], byte[]>> openLanes(Properties props, String instance, int shard) {
        List<KafkaProducer<byte[], byte[]>> opened = new ArrayList<>();
        try {
            for (int i = 0; i < ReplicationPolicy.CAPTURE_LANES; i++) {
                Properties laneProps = new Properties();
                laneProps.putAll(props);
                String transactionalId = ReplicationPolicy.captureTransactionalId(instance, shard, i);
                laneProps.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
                laneProps.put(ProducerConfig.CLIENT_ID_CONFIG, transactionalId);
                KafkaProducer<byte[], byte[]> laneProducer = new KafkaProducer<>(laneProps, new ByteArraySerializer(), new ByteArraySerializer());
                opened.add(laneProducer);
                laneProducer.initTransactions();
            }
        } catch (RuntimeException e) {
            opened.forEach(p -> p.close(Duration.ZERO));
            throw e;
        }
        return List.copyOf(opened);
    }

    /** The node ids of the source shard, stored with every position (a Redis Cluster source; null otherwise). */
    public void shardNodes(Supplier<String> nodes) {
        this.shardNodes = nodes;
    }

    private KafkaProducer<byte[], byte[]> producer() {
        return lanes.get(lane);
    }

    /** Where the writer starts: the last committed position (null when there is none) and its applied vector. */
    public void startFrom(SourcePosition position, AppliedVector applied) {
        committed = position;
        current = position;
        currentApplied = applied;
        pendingApplied = applied;
        appliedHeader = appliedHeader(applied);
    }

    private static Header appliedHeader(AppliedVector applied) {
        return new RecordHeader(ReplicationPolicy.APPLIED_HEADER, applied.encode());
    }

    private void moveApplied(AppliedVector applied) {
        if (applied != currentApplied) {
            currentApplied = applied;
            appliedHeader = appliedHeader(applied.withAll(ordering));
        }
    }

    /**
     * Waits until {@code entries} (the records of other partitions the next event must be applied after) are
     * committed, sending heartbeats meanwhile, and adds them to every record's header from here on. The open
     * transaction is committed first: its marks may be what another partition's writer is waiting for.
     */
    private void orderAfter(CompletableFuture<AppliedVector> entries) throws InterruptedException {
        if (!entries.isDone() && inTransaction) {
            commit();
        }
        long deadline = System.nanoTime() + ORDER_WAIT_MILLIS * 1_000_000L;
        while (!entries.isDone() && System.nanoTime() - deadline < 0) {
            try {
                entries.get(settings.heartbeatMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException e) {
                // still waiting, or failed: decided below
            }
            if (current != null && System.nanoTime() - lastHeartbeat >= settings.heartbeatMillis() * 1_000_000L) {
                heartbeat(false);
            }
        }
        AppliedVector needed;
        try {
            needed = entries.getNow(null);
        } catch (CompletionException e) {
            needed = null;
        }
        if (needed == null) {
            log.warn("{} partition {} at {}: the records of another partition it must follow (keys whose slot moved here) were not"
                    + " committed within {} ms ({}); publishing it without them, so a peer behind on that partition may apply"
                    + " the keys' writes out of order", instance, shard, current, ORDER_WAIT_MILLIS,
                    entries.isDone() ? "that partition's writer stopped first" : "still waiting");
            return;
        }
        AppliedVector merged = ordering.withAll(needed);
        if (merged != ordering) {
            ordering = merged;
            appliedHeader = appliedHeader(currentApplied.withAll(ordering));
        }
    }

    /** See {@link Outbox.Mark}. */
    private void mark(CompletableFuture<Long> committedOffset) {
        if (!marks.knowsARecord() && current != null) {
            // this partition's records so far were committed by an earlier writer: a heartbeat now follows all of them
            heartbeat(false);
        }
        marks.mark(committedOffset);
    }

    public SourcePosition committed() {
        return committed;
    }

    /** Whether the last {@link #run} ended with the partition's retirement record committed. */
    public boolean markedRetired() {
        return markedRetired;
    }

    /** Drains {@code outbox} until a {@link Outbox.Stop}; commits what is open before returning. */
    public void run(Outbox outbox) throws InterruptedException {
        long heartbeatNanos = settings.heartbeatMillis() * 1_000_000L;
        long transactionNanos = settings.transactionMaxMillis() * 1_000_000L;
        while (true) {
            long now = System.nanoTime();
            long nextBeat = lastHeartbeat + heartbeatNanos;
            // Adaptive commits: an open transaction (outside a snapshot) takes whatever is already in
            // the outbox and is committed as soon as nothing more is immediately available, so at low
            // rates each commit carries what arrived while the previous one was in flight, and at high
            // rates transactions grow up to the limits. Read-committed peers see events only after the
            // commit, so waiting for more would only add latency.
            boolean adaptive = inTransaction && !inSnapshot;
            long wait = adaptive ? 0
                    : (inTransaction ? Math.min(transactionStart + transactionNanos, nextBeat) : nextBeat) - now;
            Outbox.Entry entry = outbox.poll(wait);
            boolean drained = adaptive && entry == null;
            if (entry instanceof Outbox.Stop stop) {
                boolean marking = stop.retire() && current != null;
                if (marking) {
                    heartbeat(true);
                }
                commit();
                markedRetired = marking;
                return;
            }
            if (entry instanceof Outbox.Mark mark) {
                mark(mark.committedOffset());
            } else if (entry instanceof Outbox.Event event) {
                if (event.orderAfter() != null) {
                    orderAfter(event.orderAfter());
                }
                moveApplied(event.applied());
                send(event.event(), event.expiries(), event.resyncOf(), false, event.republished());
                current = event.event().getPosition();
                EventKind kind = event.event().getKind();
                if (kind == EventKind.SNAPSHOT_START) {
                    inSnapshot = true;
                } else if (kind == EventKind.SNAPSHOT_END) {
                    inSnapshot = false;
                }
                if (event.resumable() && !inSnapshot) {
                    pending = current;
                    pendingApplied = currentApplied;
                }
            } else if (entry instanceof Outbox.Advance advance) {
                current = advance.position();
                moveApplied(advance.applied());
                if (!inSnapshot) {
                    pending = current;
                    pendingApplied = currentApplied;
                }
            }
            now = System.nanoTime();
            if (current != null && now - lastHeartbeat >= heartbeatNanos) {
                heartbeat(false);
            }
            if (inTransaction && (drained || transactionEvents >= settings.transactionMaxEvents()
                    || now - transactionStart >= transactionNanos)) {
                commit();
            }
        }
    }

    /** @param retired whether this is the partition's last record ({@link ReplicationPolicy#RETIRED_HEADER}) */
    private void heartbeat(boolean retired) {
        long captured = current.getOffset();
        long source = sourceOffset.getAsLong();
        ChangeEvent beat = ChangeEvent.newBuilder()
                .setOrigin(instance).setPosition(current).setKind(EventKind.HEARTBEAT).setDb(current.getDb())
                .setCommands(List.of()).setKeys(List.of()).setCaptureTimeMillis(Instant.now()).setChunk(null)
                .setHeartbeat(new Heartbeat(source < 0 ? captured : Math.max(source, captured), captured))
                .build();
        boolean alone = !inTransaction;
        send(beat, KeyExpiries.NONE, null, retired, false);
        lastHeartbeat = System.nanoTime();
        if (!inSnapshot) {
            pending = current;
            pendingApplied = currentApplied;
        }
        if (alone) {
            commit(); // idle: the heartbeat is the transaction; otherwise it rides with the open one
        }
    }

    private void send(ChangeEvent event, KeyExpiries expiries, String resyncOf, boolean retired, boolean republished) {
        if (!inTransaction) {
            producer().beginTransaction();
            inTransaction = true;
            transactionEvents = 0;
            transactionStart = System.nanoTime();
        }
        byte[] value = events.encode(event);
        if (value.length > recordLimit) {
            throw new RecordTooLargeForTopicException("a change of " + value.length + " bytes at " + event.getPosition()
                    + " exceeds the record limit of " + recordLimit + " bytes; raise capture.maxRecordBytes (the topic "
                    + changesTopic + " is raised to match on start)");
        }
        List<Header> kindHeaders = headersByKind.get(event.getKind().ordinal());
        List<Header> headers = expiries.isEmpty() ? List.of(kindHeaders.get(0), kindHeaders.get(1), appliedHeader)
                : List.of(kindHeaders.get(0), kindHeaders.get(1), appliedHeader,
                        new RecordHeader(ReplicationPolicy.EXPIRY_HEADER, expiries.encode()));
        if (resyncOf != null || retired || republished) {
            headers = new ArrayList<>(headers);
            if (republished) {
                headers.add(new RecordHeader(ReplicationPolicy.REPUBLISHED_HEADER, new byte[] {'1'}));
            }
            if (resyncOf != null) {
                headers.add(new RecordHeader(ReplicationPolicy.RESYNC_HEADER, resyncOf.getBytes(StandardCharsets.UTF_8)));
            }
            if (retired) {
                headers.add(new RecordHeader(ReplicationPolicy.RETIRED_HEADER, new byte[] {'1'}));
            }
        }
        marks.sent(producer().send(new ProducerRecord<>(changesTopic, shard, (byte[]) null, value, headers)));
        transactionEvents++;
        metrics.event(event.getKind(), value.length, event.getCommands().size());
    }

    private void commit() {
        if (!inTransaction) {
            if (pending == null || pending.equals(committed)) {
                return;
            }
            producer().beginTransaction();
            inTransaction = true;
        }
        SourcePosition position = pending;
        if (position != null && !position.equals(committed)) {
            long keys = sourceKeys.forPosition(position.getReplid(), pendingApplied.asMap().size());
            producer().send(PositionStore.record(instance, shard, position, pendingApplied, keys, shardNodes.get()));
        }
        producer().commitTransaction();
        inTransaction = false;
        lane = (lane + 1) % lanes.size();
        marks.committed();
        if (position != null) {
            committed = position;
            metrics.transactionCommitted(position.getOffset());
        } else {
            metrics.transactionCommitted(committed == null ? -1 : committed.getOffset());
        }
    }

    @Override
    public void close() {
        try {
            if (inTransaction) {
                producer().abortTransaction();
            }
        } catch (RuntimeException e) {
            log.debug("abort on close failed: {}", e.toString());
        }
        marks.aborted("the writer of " + instance + " partition " + shard + " stopped before committing");
        lanes.forEach(p -> p.close(Duration.ofSeconds(10)));
    }

    /** A single change cannot fit in one record: stop loudly, never skip it. */
    public static final class RecordTooLargeForTopicException extends RuntimeException {
        public RecordTooLargeForTopicException(String message) {
            super(message);
        }
    }
}
