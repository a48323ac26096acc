package io.ferry.capture;

import io.ferry.capture.eviction.EvictionWatch;
import io.ferry.schemas.EventKind;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The capture's meters. Prometheus names: ferry_capture_events_total{instance,kind},
 * ferry_capture_commands_total, ferry_capture_bytes_total, ferry_capture_lag_bytes,
 * ferry_capture_position_offset, ferry_capture_full_resyncs_total, ferry_capture_reconnects_total,
 * ferry_capture_filtered_commands_total{command,reason}, ferry_capture_eviction_filter_active,
 * ferry_capture_echoes_total{origin}, ferry_capture_transactions_total, ferry_capture_source_wiped,
 * ferry_capture_backlog_headroom_seconds, ferry_capture_source_keys, ferry_capture_staged_values_total,
 * ferry_capture_staged_bytes_total; all tagged with instance and partition (the source shard's partition of
 * the changes topic; 0 for a standalone Redis).
 */
public final class CaptureMetrics {

    private final MeterRegistry registry;
    /** instance, and partition: the source shard's partition of the changes topic (0 for a standalone Redis). */
    private final Tags tags;
    private final Map<EventKind, Counter> events = new EnumMap<>(EventKind.class);
    private final Counter commands;
    private final Counter bytes;
    private final Counter fullResyncs;
    private final Counter reconnects;
    private final Counter transactions;
    private final Counter stagedValues;
    private final Counter stagedBytes;
    private final Counter stagedBlocks;
    private final Counter refusedBlocks;
    private final Map<String, Counter> filtered = new ConcurrentHashMap<>();
    private final Map<String, Counter> echoes = new ConcurrentHashMap<>();
    private final AtomicReference<EvictionWatch> evictionWatch = new AtomicReference<>();
    private final AtomicLong sourceOffset = new AtomicLong(-1);
    private final AtomicLong committedOffset = new AtomicLong(-1);
    private volatile long lastCommitNanos = System.nanoTime();
    private volatile boolean sourceWiped;
    private volatile double backlogHeadroomSeconds = Double.NaN;
    private volatile double sourceKeys = Double.NaN;

    public CaptureMetrics(MeterRegistry registry, String instance) {
        this(registry, instance, 0);
    }

    /** The meters of the capture of one shard of a Redis Cluster source, which writes {@code partition}. */
    public CaptureMetrics(MeterRegistry registry, String instance, int partition) {
        this.registry = registry;
        this.tags = Tags.of("instance", instance, "partition", Integer.toString(partition));
        for (EventKind kind : EventKind.values()) {
            events.put(kind, Counter.builder("ferry.capture.events").description("Change events published, by kind")
                    .tags(tags).tag("kind", kind.name()).register(registry));
        }
        commands = Counter.builder("ferry.capture.commands").description("Redis commands published (a transaction counts each of its commands)")
                .tags(tags).register(registry);
        bytes = Counter.builder("ferry.capture.bytes").description("Bytes of change records published (record values, before compression)")
                .tags(tags).register(registry);
        fullResyncs = Counter.builder("ferry.capture.full.resyncs").description("Times the source answered FULLRESYNC and a snapshot was published")
                .tags(tags).register(registry);
        reconnects = Counter.builder("ferry.capture.reconnects").description("Times the capture reconnected to Redis or restarted its Kafka producer after a failure")
                .tags(tags).register(registry);
        transactions = Counter.builder("ferry.capture.transactions").description("Kafka transactions committed")
                .tags(tags).register(registry);
        stagedValues = Counter.builder("ferry.capture.staged.values")
                .description("Arguments too big for one record, streamed through a spill file and published as staged chunks")
                .tags(tags).register(registry);
        stagedBytes = Counter.builder("ferry.capture.staged.bytes").description("Bytes of the staged arguments")
                .tags(tags).register(registry);
        stagedBlocks = Counter.builder("ferry.capture.staged.blocks")
                .description("MULTI/EXEC blocks (or commands) too big for one record, spooled to a file and published as a staged block")
                .tags(tags).register(registry);
        refusedBlocks = Counter.builder("ferry.capture.refused.blocks")
                .description("Changes too big for one record that a script cannot run: published as a refusal each peer dead-letters")
                .tags(tags).register(registry);
        Gauge.builder("ferry.capture.eviction.filter.active", evictionWatch, w -> w.get() != null && w.get().active() ? 1 : 0)
                .description("1 while DELs caused by eviction on the source are told apart from users' DELs (and not published)")
                .tags(tags).register(registry);
        Gauge.builder("ferry.capture.lag.bytes", this, CaptureMetrics::lagBytes)
                .description("Source master_repl_offset minus the offset committed to Kafka").tags(tags).register(registry);
        Gauge.builder("ferry.capture.position.offset", committedOffset, AtomicLong::get)
                .description("Replication offset of the last committed capture position").tags(tags).register(registry);
        Gauge.builder("ferry.capture.source.wiped", this, m -> m.sourceWiped ? 1 : 0)
                .description("1 while the source came back wiped (new replication id, its data gone) and nothing is published "
                        + "until an operator acts (see the capture's log and /readyz)")
                .tags(tags).register(registry);
        Gauge.builder("ferry.capture.backlog.headroom.seconds", this, m -> m.backlogHeadroomSeconds)
                .description("Seconds of the source's current write rate its replication backlog can still take beyond the "
                        + "committed position: a capture outage longer than this needs a full resync (at most 86400; NaN until measured)")
                .tags(tags).register(registry);
        Gauge.builder("ferry.capture.source.keys", this, m -> m.sourceKeys)
                .description("Keys the source holds (INFO keyspace, every db)").tags(tags).register(registry);
    }

    /** Removes these meters (a retired partition's): stale gauges would keep alerts firing. */
    public void remove() {
        for (io.micrometer.core.instrument.Meter meter : registry.getMeters()) {
            io.micrometer.core.instrument.Meter.Id id = meter.getId();
            if (id.getName().startsWith("ferry.capture.") && tags.stream().allMatch(tag -> tag.getValue().equals(id.getTag(tag.getKey())))) {
                registry.remove(meter);
            }
        }
    }

    public void event(EventKind kind, int recordBytes, int commandCount) {
        events.get(kind).increment();
        bytes.increment(recordBytes);
        if (commandCount > 0) {
            commands.increment(commandCount);
        }
    }

    public void stagedValue(long length) {
        stagedValues.increment();
        stagedBytes.increment(length);
    }

    public void stagedBlock() {
        stagedBlocks.increment();
    }

    public void refusedBlock() {
        refusedBlocks.increment();
    }

    public void transactionCommitted(long offset) {
        transactions.increment();
        committedOffset.set(offset);
        lastCommitNanos = System.nanoTime();
    }

    /** Milliseconds since the last committed Kafka transaction (or since these meters were created). */
    public long millisSinceLastCommit() {
        return (System.nanoTime() - lastCommitNanos) / 1_000_000;
    }

    public void positionLoaded(long offset) {
        committedOffset.set(offset);
    }

    public void fullResync() {
        fullResyncs.increment();
    }

    public void reconnect() {
        reconnects.increment();
    }

    public void filtered(String command, String reason) {
        filtered.computeIfAbsent(command + '\n' + reason, c -> Counter.builder("ferry.capture.filtered.commands")
                .description("Propagated commands deliberately not published, by command and reason")
                .tags(tags).tag("command", command).tag("reason", reason).register(registry)).increment();
    }

    /** The watch telling evictions apart, or null when that is switched off. */
    public void evictionWatch(EvictionWatch watch) {
        evictionWatch.set(watch);
    }

    public void echo(String origin) {
        echoes.computeIfAbsent(origin, o -> Counter.builder("ferry.capture.echoes")
                .description("Blocks written by the local apply agent on behalf of a peer, recognised and not published again")
                .tags(tags).tag("origin", o).register(registry)).increment();
    }

    public void sourceWiped(boolean wiped) {
        sourceWiped = wiped;
    }

    public boolean sourceWiped() {
        return sourceWiped;
    }

    public void backlogHeadroom(double seconds) {
        backlogHeadroomSeconds = seconds;
    }

    public double backlogHeadroom() {
        return backlogHeadroomSeconds;
    }

    public void sourceKeys(long keys) {
        sourceKeys = keys < 0 ? Double.NaN : keys;
    }

    public void sourceOffset(long offset) {
        sourceOffset.set(offset);
    }

    public long sourceOffset() {
        return sourceOffset.get();
    }

    public long committedOffset() {
        return committedOffset.get();
    }

    public double fullResyncCount() {
        return fullResyncs.count();
    }

    /** Source offset minus committed offset; 0 until both are known. */
    public double lagBytes() {
        long source = sourceOffset.get();
        long committed = committedOffset.get();
        return source < 0 || committed < 0 ? 0 : Math.max(0, source - committed);
    }
}
