package io.ferry.apply.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The apply agent's meters. Prometheus names: ferry_apply_lag_seconds, ferry_apply_lag_records,
 * ferry_apply_events_total, ferry_apply_commands_total, ferry_apply_batches_total,
 * ferry_apply_dead_letters_total{reason}, ferry_apply_conflicts_total{type}, ferry_apply_latency_seconds,
 * ferry_apply_reconnects_total, ferry_apply_conflict_resolutions_total{type,resolution},
 * ferry_apply_repairs_total{outcome}, ferry_apply_causal_waits_total, ferry_apply_conflict_window_keys,
 * ferry_apply_conflict_window_evictions_total, ferry_apply_resyncs_total{outcome}, ferry_apply_resync_keys_total{action},
 * ferry_apply_republish_requests_total{outcome}, ferry_apply_republish_requests_waiting;
 * all tagged with {@code instance}, per-peer ones also with {@code peer}.
 */
public final class ApplyMetrics {

    /** Meters of one peer. */
    public final class Peer {
        private final String peer;
        private final Counter events;
        private final Counter commands;
        private final Counter batches;
        private final Timer latency;
        private final Counter causalWaits;
        private final AtomicLong lagRecords = new AtomicLong();
        /** Per partition of the peer's topic (one per shard of a cluster source): the newest capture time applied. */
        private final Map<Integer, AtomicLong> newestCaptureMillis = new ConcurrentHashMap<>();
        /** Partitions whose capture retired them: nothing more arrives in them, so they are not lagging. */
        private final java.util.Set<Integer> retired = ConcurrentHashMap.newKeySet();
        private volatile boolean caughtUp;

        Peer(String peer) {
            this.peer = peer;
            events = Counter.builder("ferry.apply.events").description("Change events from a peer applied (heartbeats and snapshot markers included)")
                    .tags("instance", instance, "peer", peer).register(registry);
            commands = Counter.builder("ferry.apply.commands").description("Redis commands from a peer applied to this instance")
                    .tags("instance", instance, "peer", peer).register(registry);
            batches = Counter.builder("ferry.apply.batches").description("MULTI/EXEC batches committed for a peer")
                    .tags("instance", instance, "peer", peer).register(registry);
            latency = Timer.builder("ferry.apply.latency").description("Time from the source capture of an event to its apply on this instance")
                    .tags("instance", instance, "peer", peer).publishPercentileHistogram()
                    .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(10)).register(registry);
            causalWaits = Counter.builder("ferry.apply.causal.waits")
                    .description("Times a peer's event waited for events it must follow: other peers' its origin had applied first,"
                            + " or its origin's writes to keys before their slot moved to another shard")
                    .tags("instance", instance, "peer", peer).register(registry);
            // A restarted service in the same registry (tests, embedding) must own the gauges, not its predecessor.
            registry.find("ferry.apply.lag.records").tags("instance", instance, "peer", peer).meters().forEach(registry::remove);
            registry.find("ferry.apply.lag.seconds").tags("instance", instance, "peer", peer).meters().forEach(registry::remove);
            Gauge.builder("ferry.apply.lag.records", lagRecords, AtomicLong::get)
                    .description("Records in the peer's topic not yet applied (consumer lag)")
                    .tags("instance", instance, "peer", peer).register(registry);
            Gauge.builder("ferry.apply.lag.seconds", this, Peer::lagSeconds)
                    .description("Seconds between now and the source capture time of the newest applied event (heartbeats included); 0 when caught up")
                    .tags("instance", instance, "peer", peer).register(registry);
            // every outcome and action from the start (at 0), so a first resync shows as an increase
            RESYNC_OUTCOMES.forEach(outcome -> resyncCounter(outcome));
            RESYNC_KEY_ACTIONS.forEach(action -> resyncKeysCounter(action));
        }

        /** @param committed whether a MULTI/EXEC was committed for these events (not for chunk-only stretches) */
        public void applied(int eventCount, int commandCount, boolean committed) {
            events.increment(eventCount);
            commands.increment(commandCount);
            if (committed) {
                batches.increment();
            }
        }

        public void captured(int partition, long captureTimeMillis, boolean dataEvent) {
            if (retired.contains(partition)) {
                return;
            }
            newestCaptureMillis.computeIfAbsent(partition, p -> new AtomicLong(-1)).accumulateAndGet(captureTimeMillis, Math::max);
            if (dataEvent) {
                latency.record(Math.max(0, System.currentTimeMillis() - captureTimeMillis), java.util.concurrent.TimeUnit.MILLISECONDS);
            }
        }

        public void lagRecords(long records) {
            lagRecords.set(records);
            caughtUp = records == 0;
        }

        public void deadLetter(String reason) {
            deadLetters.computeIfAbsent(peer + "\u0000" + reason, k -> Counter.builder("ferry.apply.dead.letters")
                    .description("Peer records or commands that could not be applied and went to the dead-letter topic, by reason")
                    .tags("instance", instance, "peer", peer, "reason", reason).register(registry)).increment();
        }

        public void conflict(String type) {
            conflicts.computeIfAbsent(peer + "\u0000" + type, k -> Counter.builder("ferry.apply.conflicts")
                    .description("Peer writes that met a different state here (unmet condition, type clash, existing key), by type")
                    .tags("instance", instance, "peer", peer, "type", type).register(registry)).increment();
        }

        /** A conflict's outcome here: RECORDED, COMMUTES, SKIPPED, REPAIRED, REPAIR_FAILED. */
        public void resolution(String type, String resolution) {
            resolutions.computeIfAbsent(peer + "\u0000" + type + "\u0000" + resolution, k -> Counter.builder("ferry.apply.conflict.resolutions")
                    .description("Concurrent writes settled here, by conflict type and what was done")
                    .tags("instance", instance, "peer", peer, "type", type, "resolution", resolution).register(registry)).increment();
        }

        /** A peer's resync snapshot was reconciled here: {@code reconciled}, or {@code conservative} (only missing keys added). */
        public void resync(String outcome) {
            resyncCounter(outcome).increment();
        }

        /** Keys of a peer's resync snapshot by what happened here: replaced, rebuilt, guarded (kept), deleted, ambiguous. */
        public void resyncKeys(String action, long count) {
            resyncKeysCounter(action).increment(count);
        }

        private Counter resyncCounter(String outcome) {
            return resyncs.computeIfAbsent(peer + "\u0000" + outcome, k -> Counter.builder("ferry.apply.resyncs")
                    .description("Snapshots a peer published after a full resync of its running source, reconciled here, by outcome"
                            + " (reconciled; conservative: only missing keys added, nothing deleted)")
                    .tags("instance", instance, "peer", peer, "outcome", outcome).register(registry));
        }

        private Counter resyncKeysCounter(String action) {
            return resyncKeys.computeIfAbsent(peer + "\u0000" + action, k -> Counter.builder("ferry.apply.resync.keys")
                    .description("Keys reconciled with a peer's resync snapshot: replaced by its copy, rebuilt (its copy, then the writes"
                            + " here it had not applied), guarded (kept: they hold writes the peer had not applied), deleted (the peer no longer has them) or ambiguous (concurrent resyncs)")
                    .tags("instance", instance, "peer", peer, "action", action).register(registry));
        }

        /** The partition's last record was applied: it no longer counts for the lag. */
        public void retired(int partition) {
            retired.add(partition);
            newestCaptureMillis.remove(partition);
        }

        /** An event held back until the writes its origin had applied before it are applied here too. */
        public void causalWait() {
            causalWaits.increment();
        }

        /**
         * Now minus the capture time of the newest applied event, of the partition furthest behind (a cluster
         * source's stalled shard shows, even while the others are current). A caught-up peer whose heartbeats
         * keep arriving reads 0; a silent peer (capture down) reads the time since it was last heard of.
         */
        double lagSeconds() {
            long newest = newestCaptureMillis.values().stream().mapToLong(AtomicLong::get).filter(t -> t >= 0).min().orElse(-1);
            if (newest < 0) {
                return 0;
            }
            long behind = Math.max(0, System.currentTimeMillis() - newest);
            if (caughtUp && behind <= idleToleranceMillis) {
                return 0;
            }
            return behind / 1000.0;
        }
    }

    private static final List<String> RESYNC_OUTCOMES = List.of("reconciled", "conservative");
    private static final List<String> RESYNC_KEY_ACTIONS = List.of("replaced", "rebuilt", "guarded", "deleted", "ambiguous");

    private final MeterRegistry registry;
    private final String instance;
    private final long idleToleranceMillis;
    private final Map<String, Peer> peers = new ConcurrentHashMap<>();
    private final Map<String, Counter> deadLetters = new ConcurrentHashMap<>();
    private final Map<String, Counter> conflicts = new ConcurrentHashMap<>();
    private final Map<String, Counter> resolutions = new ConcurrentHashMap<>();
    private final Map<String, Counter> resyncs = new ConcurrentHashMap<>();
    private final Map<String, Counter> resyncKeys = new ConcurrentHashMap<>();
    private final Counter reconnects;
    private final Counter repairsOk;
    private final Counter repairsFailed;
    private final Counter windowEvictions;
    private final AtomicLong windowKeys = new AtomicLong();
    private final Map<String, Counter> republishRequests = new ConcurrentHashMap<>();
    private final AtomicLong republishWaiting = new AtomicLong();

    /** @param heartbeatMillis the peers' heartbeat interval: a caught-up peer is idle, not lagging, within a few of them */
    public ApplyMetrics(MeterRegistry registry, String instance, long heartbeatMillis) {
        this.registry = registry;
        this.instance = instance;
        this.idleToleranceMillis = 2 * heartbeatMillis + 1000;
        this.reconnects = Counter.builder("ferry.apply.reconnects")
                .description("Times the apply agent lost its Redis connection and reconnected")
                .tags("instance", instance).register(registry);
        this.repairsOk = repairs("ok");
        this.repairsFailed = repairs("failed");
        this.windowEvictions = Counter.builder("ferry.apply.conflict.window.evictions")
                .description("Writes forgotten by conflict detection because the window was full (conflicts on them may go unseen)")
                .tags("instance", instance).register(registry);
        Gauge.builder("ferry.apply.conflict.window.keys", windowKeys, AtomicLong::get)
                .description("Keys whose recent writes conflict detection keeps (bounded by what the peers have not applied yet)")
                .tags("instance", instance).register(registry);
        Gauge.builder("ferry.apply.republish.requests.waiting", republishWaiting, AtomicLong::get)
                .description("Requests to re-publish a key (peers that kept it when reconciling this instance's resync snapshot)"
                        + " waiting until this instance has applied the writes they saw")
                .tags("instance", instance).register(registry);
        REPUBLISH_OUTCOMES.forEach(this::republishCounter);
    }

    private static final List<String> REPUBLISH_OUTCOMES = List.of("deferred", "republished", "refused", "overdue");

    private Counter republishCounter(String outcome) {
        return republishRequests.computeIfAbsent(outcome, k -> Counter.builder("ferry.apply.republish.requests")
                .description("Requests to re-publish a key once this instance has applied what the requester saw, by outcome:"
                        + " deferred (waiting), republished, refused (too many waiting), overdue (waited over a minute)")
                .tags("instance", instance, "outcome", outcome).register(registry));
    }

    /** A deferred re-publication request: deferred, republished, refused or overdue. */
    public void republishRequest(String outcome) {
        republishRequest(outcome, 1);
    }

    public void republishRequest(String outcome, int count) {
        republishCounter(outcome).increment(count);
    }

    public void republishWaiting(int requests) {
        republishWaiting.set(requests);
    }

    private Counter repairs(String outcome) {
        return Counter.builder("ferry.apply.repairs")
                .description("Values re-published from this instance to settle a conflict it won, by outcome")
                .tags("instance", instance, "outcome", outcome).register(registry);
    }

    public void repaired(boolean ok) {
        (ok ? repairsOk : repairsFailed).increment();
    }

    public void windowEvicted(int count) {
        windowEvictions.increment(count);
    }

    public void windowKeys(long keys) {
        windowKeys.set(keys);
    }

    public Peer peer(String peer) {
        return peers.computeIfAbsent(peer, Peer::new);
    }

    public void reconnected() {
        reconnects.increment();
    }
}
