package io.ferry.apply.resync;

import io.ferry.apply.batch.BatchBuilder;
import io.ferry.apply.batch.EventBatch;
import io.ferry.apply.batch.PartitionState;
import io.ferry.apply.convergence.KeyId;
import io.ferry.apply.metrics.ApplyMetrics;
import io.ferry.apply.redis.RawCommand;
import io.ferry.apply.redis.RedisTargetClient;
import io.ferry.apply.redis.Reply;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.MeshConfig;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiFunction;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reconciles this instance with a peer's snapshot published after a full resync of that running peer
 * (records with the {@link ReplicationPolicy#RESYNC_HEADER} header). The snapshot is the origin's whole state
 * at its applied vector V (the copy's own apply checkpoints, the records' {@code ferry.applied} header). A key
 * here is "guarded" when a write the origin had not applied at V touched it: a local write past V's checkpoint
 * of this instance, or a third instance's write past V's checkpoint of that instance ({@link UnseenWritesReader}).
 * The rule: a snapshot key replaces the copy here ({@code RESTORE … REPLACE}) unless guarded; at SNAPSHOT_END
 * every key here that the snapshot did not bring and that is not guarded is deleted (the origin deleted it, or
 * never had it although it had seen every write to it). A guarded key whose unseen writes that took effect here can
 * each be run again on its own is rebuilt ({@link KeyRebuild}): the snapshot's copy, which holds the origin's gap
 * writes, then those writes run again in the order they took effect here, which is what the origin holds once its
 * apply agent has applied them ({@link UnseenWritesReader#replay}). Other guarded keys are left as they are: their
 * unseen writes reach the origin through its apply agent. The origin may also have changed such a key in its gap
 * (writes never published, only in the snapshot), so each one kept because of an unseen write is handed to
 * {@link GuardedKeys} with where those writes end: the origin's value holds both once it has applied them. A
 * batch that overwrites or deletes is sent with its keys WATCHed and judged again after this instance's capture
 * has published every write made before the WATCH ({@link #watchOverwrites}), so a local write made at any
 * moment is never overwritten.
 *
 * <p>On a Redis Cluster target the same holds slot by slot: the keys a snapshot brought are recorded per slot
 * ({@link ReplicationPolicy#slotResyncKeysKey}), every batch is judged and sent per slot (each watched transaction on
 * a connection of its own, see {@link RedisTargetClient#watch}), the end SCANs every master, and this instance's
 * capture must have published every master's stream (one partition per shard, told apart by replication id).
 *
 * <p>Safe, loud fallbacks: when the unseen writes cannot be bounded (more than {@link #MAX_GUARDED_KEYS} keys or
 * {@link #MAX_UNSEEN_RECORDS} records), this instance's own capture is not caught up with its Redis (writes here
 * not yet published could be overwritten) or the snapshot is one shard's of a Redis Cluster origin (it does not
 * hold the origin's other keys), every key is guarded: the snapshot only adds missing keys and nothing is
 * deleted, with a WARN saying to run {@code ferry verify --repair}. Runs on the apply thread with nothing in flight.
 */
public final class ResyncReconciler implements BatchBuilder.Resync, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ResyncReconciler.class);
    static final int MAX_GUARDED_KEYS = 1_000_000;
    static final long MAX_UNSEEN_RECORDS = 5_000_000;
    /** Bytes of unseen writes kept to rebuild guarded keys with; keys past it are kept as they are. */
    static final long MAX_REPLAY_BYTES = 64L << 20;
    /** Kept keys named in the log per reconciliation (with why they were not rebuilt); the WARN at its end counts them all. */
    private static final int KEPT_KEYS_LOGGED = 10;
    private static final long REFRESH_NANOS = 20_000_000L;
    static final long MAX_CATCH_UP_NANOS = 120_000_000_000L;
    private static final long OWN_PUBLISH_WAIT_NANOS = 10_000_000_000L;
    private static final Pattern KEYSPACE_DB = Pattern.compile("^db(\\d+):keys=", Pattern.MULTILINE);

    private final MeshConfig mesh;
    private final String self;
    private final RedisTargetClient redis;
    private final ApplyMetrics metrics;
    private final GuardedKeys guardedKeys;
    private final boolean guardedRepublished;
    private final UnseenWritesReader.AppliedHere appliedHere;
    private final Map<String, Reconciliation> active = new HashMap<>();
    /** Per peer partition, every slot's set of {@link #broughtKeysKeys} (16384 names, built once). */
    private final Map<String, List<byte[]>> allSlotSets = new HashMap<>();

    /** Told of every key a reconciliation leaves as it is here because a write its origin had not applied touched it. */
    @FunctionalInterface
    public interface GuardedKeys {
        /**
         * @param snapshot   the snapshot's event that brought the key (its SNAPSHOT_END for a key it did not bring), at
         *                   {@code kafkaOffset} of the origin's partition
         * @param unseenEnds per peer partition, the offset of the last write to the key the origin had not applied
         */
        void kept(ChangeEvent snapshot, long kafkaOffset, int db, byte[] key, AppliedVector unseenEnds);
    }

    /** One resync snapshot of one origin partition being reconciled. */
    private static final class Reconciliation {
        final String resyncOf;
        final UnseenWritesReader unseen;
        /** Why every key is guarded (the fallback), or null. */
        String conservative;
        long lastRefresh;
        /** Where this instance's masters stood, which its own capture must have published before going on (null: not set). */
        List<ReplicationPoint> catchUpTarget;
        long catchUpSince;
        boolean endTargetSet;
        boolean caughtUp;
        boolean caughtUpForEnd;
        boolean waitLogged;
        /** SNAPSHOT_END is in the batch being built or sent: its commit ends the reconciliation. */
        boolean endReached;
        long replaced;
        /** Guarded keys rebuilt from the snapshot's copy and this instance's writes the origin had not applied. */
        long rebuilt;
        long guarded;
        long deleted;
        /** Keys held by this snapshot and by another instance's snapshot the origin had not applied (concurrent resyncs). */
        long ambiguous;
        /** Guarded keys here the snapshot did not bring, to be rebuilt from their unseen writes alone ({@link #rebuiltAbsentKeys}). */
        Map<Integer, List<byte[]>> absentRebuilt = new TreeMap<>();
        /** Guarded keys already handed to {@link GuardedKeys} (a batch judged again does not hand them twice). */
        final Set<KeyId> handed = new HashSet<>();

        Reconciliation(String resyncOf, UnseenWritesReader unseen) {
            this.resyncOf = resyncOf;
            this.unseen = unseen;
        }
    }

    /**
     * @param guardedRepublished whether {@code guardedKeys} has the origin re-publish them ({@code apply.republishGuardedKeys});
     *                           if not, a reconciliation that kept keys says they can stay different
     * @param checkpoints        the committed checkpoint here of a peer partition ({@code <instance>:<partition>}), -1 if
     *                           not known here; with {@code applied} (whether a peer partition's write took effect here,
     *                           false when it lost a conflict, null if unknown), which third instances' writes a rebuilt
     *                           key runs again
     */
    public ResyncReconciler(MeshConfig mesh, String self, RedisTargetClient redis, ApplyMetrics metrics, GuardedKeys guardedKeys,
                            boolean guardedRepublished, ToLongFunction<String> checkpoints, BiFunction<String, Long, Boolean> applied) {
        this.mesh = mesh;
        this.self = self;
        this.redis = redis;
        this.metrics = metrics;
        this.guardedKeys = guardedKeys;
        this.guardedRepublished = guardedRepublished;
        this.appliedHere = new UnseenWritesReader.AppliedHere() {
            @Override
            public long checkpoint(String entry) {
                return checkpoints.applyAsLong(entry);
            }

            @Override
            public Boolean applied(String entry, long offset) {
                return applied.apply(entry, offset);
            }
        };
    }

    /** Whether {@code record} belongs to a snapshot published after a full resync of a running origin. */
    public static boolean isResync(ConsumerRecord<byte[], byte[]> record) {
        return record.headers().lastHeader(ReplicationPolicy.RESYNC_HEADER) != null;
    }

    @Override
    public void started(PartitionState state, ConsumerRecord<byte[], byte[]> record) {
        reconciliation(state, record); // a snapshot sent again after the same gap keeps what was read: only more is guarded
    }

    /**
     * Whether the resync record that starts a batch may be built now: at the start of a reconciliation, and
     * again at SNAPSHOT_END, this instance's own capture must have published what its Redis held a moment ago
     * (a local write not yet published is unknown, and could be overwritten or deleted). False while it has
     * not: the record waits, like a causal wait. After {@link #MAX_CATCH_UP_NANOS} the snapshot goes on
     * conservatively (only missing keys added, nothing deleted) rather than hold the peer's stream forever.
     */
    public boolean ready(PartitionState state, ConsumerRecord<byte[], byte[]> record) {
        Reconciliation r = reconciliation(state, record);
        if (r.conservative != null) {
            return true;
        }
        boolean end = isEnd(record);
        long now = System.nanoTime();
        if (r.caughtUp && !(end && !r.caughtUpForEnd)) {
            // Every write this instance has applied or consumed so far is in Kafka: read on before this batch's keys are
            // judged, or a third instance's write applied here a moment ago would not guard its key.
            readOn(state, r);
            return true;
        }
        if (r.catchUpTarget == null || (end && !r.endTargetSet)) {
            r.catchUpTarget = replicationPoints();
            r.catchUpSince = now;
            r.endTargetSet = end;
            r.caughtUp = false;
        } else if (now - r.lastRefresh < REFRESH_NANOS) {
            return false;
        }
        if (!readOn(state, r)) {
            return true;
        }
        if (r.unseen.ownPublished(r.catchUpTarget)) {
            r.caughtUp = true;
            r.caughtUpForEnd = end;
            return true;
        }
        if (now - r.catchUpSince > MAX_CATCH_UP_NANOS) {
            conservative(state, r, "this instance's capture has not published its writes up to replication position "
                    + r.catchUpTarget + " within " + MAX_CATCH_UP_NANOS / 1_000_000_000L + " s (is it running?)");
            return true;
        }
        if (!r.waitLogged) {
            r.waitLogged = true;
            LOG.info("resync snapshot of {} waits until this instance's capture has published up to replication position {}",
                    state.peer(), r.catchUpTarget);
        }
        return false;
    }

    /** Whether {@code record} is a SNAPSHOT_END (read from its kind header, without decoding it). */
    public static boolean isEnd(ConsumerRecord<byte[], byte[]> record) {
        return isKind(record, EventKind.SNAPSHOT_END);
    }

    /** Whether {@code record} is a SNAPSHOT_START (read from its kind header, without decoding it). */
    public static boolean isStart(ConsumerRecord<byte[], byte[]> record) {
        return isKind(record, EventKind.SNAPSHOT_START);
    }

    private static boolean isKind(ConsumerRecord<byte[], byte[]> record, EventKind wanted) {
        Header kind = record.headers().lastHeader(ReplicationPolicy.KIND_HEADER);
        return kind != null && kind.value() != null && wanted.name().equals(new String(kind.value(), StandardCharsets.UTF_8));
    }

    @Override
    public KeyAction keyAction(PartitionState state, ConsumerRecord<byte[], byte[]> record, ChangeEvent event, byte[] key) {
        Reconciliation r = reconciliation(state, record);
        if (r.conservative == null && System.nanoTime() - r.lastRefresh > REFRESH_NANOS) {
            readOn(state, r); // third instances' writes consumed since, this instance's writes published since
        }
        KeyId id = new KeyId(event.getDb(), key);
        if (r.conservative != null) {
            r.guarded++;
            return KeyAction.ADD_IF_MISSING;
        }
        if (r.unseen.unseen(id) == UnseenWritesReader.Unseen.SNAPSHOT) {
            // Both instances resynced and neither had applied the other's snapshot: which one wrote the key in its gap
            // is unknown. The same choice on both sides (the greater instance id's copy) lets them converge; a key
            // missing here is added either way, as the other side keeps it too.
            r.ambiguous++;
        }
        if (mayOverwrite(state, r, id) || rebuildable(r, id)) {
            r.replaced++; // a rebuild is told from a replacement when the batch is judged before it is sent
            return KeyAction.REPLACE;
        }
        r.guarded++;
        if (r.unseen.unseen(id) != UnseenWritesReader.Unseen.WRITE) {
            return KeyAction.ADD_IF_MISSING;
        }
        handGuarded(r, event, record.offset(), id);
        return KeyAction.KEEP;
    }

    /** {@code key} stays as it is here because of a write the origin had not applied: see {@link GuardedKeys}. */
    private void handGuarded(Reconciliation r, ChangeEvent snapshot, long kafkaOffset, KeyId key) {
        if (r.conservative == null && r.unseen.unseen(key) == UnseenWritesReader.Unseen.WRITE && r.handed.add(key)) {
            if (r.handed.size() <= KEPT_KEYS_LOGGED) {
                replay(r, key);
                LOG.info("resync snapshot of {}: key {} kept, not rebuilt: its writes {} had not applied include {}",
                        snapshot.getOrigin(), key, snapshot.getOrigin(), r.unseen.refusal());
            }
            guardedKeys.kept(snapshot, kafkaOffset, key.db(), key.key(), r.unseen.unseenEnds(key));
        }
    }

    /** Whether the guarded {@code key} can be rebuilt now: see {@link UnseenWritesReader#replay}. */
    private boolean rebuildable(Reconciliation r, KeyId key) {
        List<RawCommand> replay = replay(r, key);
        return replay != null && !replay.isEmpty();
    }

    /** The rebuild of the guarded key of a one-key {@code overwrite} (a snapshot key, or one it did not bring); null if not possible. */
    private RawCommand rebuild(Reconciliation r, EventBatch.Overwrite overwrite) {
        KeyId key = new KeyId(overwrite.db(), overwrite.keys().get(0));
        return overwrite.isDeletion() ? KeyRebuild.fromNothing(key.key(), replay(r, key))
                : KeyRebuild.command(overwrite.whenAddedOnly(), replay(r, key));
    }

    private List<RawCommand> replay(Reconciliation r, KeyId key) {
        return r.unseen.replay(key, appliedHere, redis.isCluster());
    }

    /** Whether the snapshot may overwrite (or its end delete) this instance's copy of {@code key}: see {@link #keyAction}. */
    private boolean mayOverwrite(PartitionState state, Reconciliation r, KeyId key) {
        return switch (r.unseen.unseen(key)) {
            case NOTHING -> true;
            case WRITE -> false;
            case SNAPSHOT -> state.peer().compareTo(self) > 0;
        };
    }

    /** Reads the unseen writes on; false (and the reconciliation turned conservative) when they overflowed the bounds. */
    private boolean readOn(PartitionState state, Reconciliation r) {
        r.unseen.refresh();
        r.lastRefresh = System.nanoTime();
        if (r.unseen.overflowed()) {
            conservative(state, r, "more than " + MAX_GUARDED_KEYS + " keys or " + MAX_UNSEEN_RECORDS
                    + " records were written that " + state.peer() + " had not applied");
            return false;
        }
        return true;
    }

    @Override
    public Map<Integer, List<byte[]>> staleKeys(PartitionState state, ConsumerRecord<byte[], byte[]> record, ChangeEvent event) {
        Reconciliation r = reconciliation(state, record);
        r.endReached = true;
        if (r.conservative == null && !r.caughtUpForEnd) {
            conservative(state, r, "SNAPSHOT_END was reached before this instance's own writes were known to be read");
        }
        return r.conservative == null ? absentFromSnapshot(state, r, event, record.offset()) : new TreeMap<>();
    }

    @Override
    public Map<Integer, List<byte[]>> rebuiltAbsentKeys(PartitionState state) {
        Reconciliation r = active.get(AppliedVector.entry(state.peer(), state.partition().partition()));
        return r == null || r.conservative != null ? Map.of() : r.absentRebuilt;
    }

    /** Whether {@code batch} belongs to a reconciliation: it must be sent with {@link #watchOverwrites} and then {@link #committed}. */
    public boolean reconciling(EventBatch batch) {
        return active.containsKey(AppliedVector.entry(batch.partition().peer(), batch.partition().partition().partition()));
    }

    /**
     * One round of a reconciling batch's transactions (one per slot on a cluster target): {@code send}, judged, each
     * under its WATCH in {@code watches} where it overwrites anything (null where not); {@code later}, whose keys could
     * not be watched now, because their slot is moving ({@code slotMoving}) or no connection is free to hold the WATCH.
     */
    public record Round(List<EventBatch> send, List<RedisTargetClient.Watch> watches, List<EventBatch> later, boolean slotMoving) {
    }

    /**
     * Makes the transactions' overwrites (RESTORE … REPLACE, deletions at the end) safe against writes made here since
     * their keys were judged: WATCHes each one's keys, waits until this instance's capture has published what its Redis
     * holds now (every master of a cluster), reads the unseen writes on and leaves out the keys they now guard. A key
     * written before the WATCH is then known to be guarded; one written after it makes the EXEC fail, and the caller
     * asks again. When this instance's writes cannot be known in time, the transactions are applied conservatively
     * (nothing overwritten or deleted).
     */
    public Round watchOverwrites(List<EventBatch> due) {
        PartitionState state = due.get(0).partition();
        Reconciliation r = active.get(AppliedVector.entry(state.peer(), state.partition().partition()));
        List<EventBatch> send = new ArrayList<>();
        List<RedisTargetClient.Watch> watches = new ArrayList<>();
        List<EventBatch> later = new ArrayList<>();
        boolean moving = false;
        try {
            for (EventBatch batch : due) {
                RedisTargetClient.Watch watch = r == null || r.conservative != null || batch.overwrites().isEmpty() ? null
                        : redis.watch(keysByDb(batch.overwrites()));
                if (watch != null && !watch.held()) {
                    later.add(batch);
                    moving |= watch.slotMoving();
                } else {
                    send.add(batch);
                    watches.add(watch);
                }
            }
            return r == null ? new Round(send, watches, later, moving) : judgedRound(state, r, send, watches, later, moving);
        } catch (RuntimeException e) {
            redis.release(watches);
            throw e;
        }
    }

    private Round judgedRound(PartitionState state, Reconciliation r, List<EventBatch> send, List<RedisTargetClient.Watch> watches,
                         List<EventBatch> later, boolean moving) {
        if (r.conservative == null && watches.stream().anyMatch(java.util.Objects::nonNull)) {
            List<ReplicationPoint> target = replicationPoints();
            long deadline = System.nanoTime() + OWN_PUBLISH_WAIT_NANOS;
            while (r.conservative == null && !r.unseen.ownPublished(target) && readOn(state, r)) {
                if (System.nanoTime() > deadline) {
                    conservative(state, r, "this instance's capture has not published its writes up to replication position "
                            + target + " within " + OWN_PUBLISH_WAIT_NANOS / 1_000_000_000L + " s, needed before overwriting anything");
                }
                sleep(5);
            }
            readOn(state, r);
        }
        List<EventBatch> judged = new ArrayList<>(send.size());
        for (EventBatch batch : send) {
            judged.add(judged(state, r, batch));
        }
        if (r.conservative != null) {
            redis.release(watches); // nothing is overwritten: the transactions need no WATCH
            watches = new ArrayList<>(java.util.Collections.nCopies(send.size(), null));
        }
        return new Round(judged, watches, later, moving);
    }

    /**
     * {@code batch} with the overwrites of keys now guarded rebuilt where they can be ({@link KeyRebuild}) and left out
     * where not (all of them left out when conservative).
     */
    private EventBatch judged(PartitionState state, Reconciliation r, EventBatch batch) {
        Map<Integer, RawCommand> lines = new HashMap<>();
        List<EventBatch.Overwrite> still = new ArrayList<>();
        for (EventBatch.Overwrite overwrite : batch.overwrites()) {
            RawCommand rebuild = r.conservative != null || overwrite.keys().size() != 1
                    || mayOverwrite(state, r, new KeyId(overwrite.db(), overwrite.keys().get(0))) ? null
                    : rebuild(r, overwrite);
            if (rebuild != null) {
                lines.put(overwrite.line(), rebuild); // judged again after an abort: rebuilt from the writes known then
                if (!overwrite.rebuilt()) {
                    r.replaced -= overwrite.isDeletion() ? 0 : 1;
                    r.rebuilt++;
                }
                still.add(overwrite.asRebuilt());
                continue;
            }
            List<byte[]> kept = r.conservative != null ? List.of() : overwrite.keys().stream()
                    .filter(key -> mayOverwrite(state, r, new KeyId(overwrite.db(), key))).toList();
            if (kept.size() < overwrite.keys().size()) {
                EventBatch.Source source = batch.source(overwrite.line());
                overwrite.keys().forEach(key -> handGuarded(r, source.event(), source.kafkaOffset(), new KeyId(overwrite.db(), key)));
            }
            if (kept.size() == overwrite.keys().size()) {
                still.add(overwrite);
            } else if (!kept.isEmpty()) {
                // some keys of a deletion are guarded now: the others are still deleted (and still watched)
                RawCommand line = batch.body().get(overwrite.line());
                lines.put(overwrite.line(), new RawCommand(line.name(), kept));
                still.add(EventBatch.Overwrite.deletion(overwrite.line(), overwrite.db(), kept));
            } else {
                lines.put(overwrite.line(), r.conservative != null ? overwrite.whenAddedOnly() : overwrite.whenKept());
                if (overwrite.rebuilt()) {
                    r.rebuilt--;
                    r.guarded += overwrite.isDeletion() ? 0 : 1;
                } else if (!overwrite.isDeletion()) {
                    r.replaced--;
                    r.guarded++;
                }
            }
        }
        return lines.isEmpty() ? batch : batch.rewritten(lines, still);
    }

    private static Map<Integer, List<byte[]>> keysByDb(List<EventBatch.Overwrite> overwrites) {
        Map<Integer, List<byte[]>> byDb = new TreeMap<>();
        overwrites.forEach(overwrite -> byDb.computeIfAbsent(overwrite.db(), db -> new ArrayList<>()).addAll(overwrite.keys()));
        return byDb;
    }

    /** {@code transactions}, one batch's, are in Redis: at the snapshot's end, reports what the reconciliation did and ends it. */
    public void committed(List<EventBatch> transactions) {
        if (transactions.isEmpty()) {
            return;
        }
        PartitionState state = transactions.get(0).partition();
        Reconciliation r = active.get(AppliedVector.entry(state.peer(), state.partition().partition()));
        if (r == null) {
            return;
        }
        for (EventBatch batch : transactions) {
            batch.overwrites().stream().filter(overwrite -> overwrite.isDeletion() && !overwrite.rebuilt())
                    .forEach(overwrite -> r.deleted += overwrite.keys().size());
        }
        if (!r.endReached) {
            return;
        }
        ApplyMetrics.Peer peer = metrics.peer(state.peer());
        peer.resyncKeys("replaced", r.replaced);
        peer.resyncKeys("rebuilt", r.rebuilt);
        peer.resyncKeys("guarded", r.guarded);
        peer.resyncKeys("deleted", r.deleted);
        peer.resyncKeys("ambiguous", r.ambiguous);
        peer.resync(r.conservative == null ? "reconciled" : "conservative");
        if (r.ambiguous > 0) {
            LOG.warn("resync snapshot of {}: {} key(s) are also held by a snapshot of another full resync that {} had not"
                            + " applied (concurrent full resyncs): where both changed a key in their gaps one change is lost, and"
                            + " keys one of them deleted are kept; the copy of the greater instance id was taken for present keys."
                            + " Run ferry verify --config <mesh.yaml> --repair", state.peer(), r.ambiguous, state.peer());
        }
        if (r.conservative == null && r.guarded > 0 && !guardedRepublished) {
            LOG.warn("resync snapshot of {} (previous position {}) reconciled: {} key(s) replaced, {} rebuilt from its copy and"
                            + " the writes here it had not applied, {} key(s) it no longer has deleted, {} kept because they hold"
                            + " writes {} had not applied that cannot be run again here. Those of them {} also changed while its"
                            + " capture was away stay different (each is recorded as a RESYNC_GUARDED conflict): run ferry verify"
                            + " --config <mesh.yaml> --repair once {} has caught up, or set apply: {republishGuardedKeys: true}",
                    state.peer(), r.resyncOf, r.replaced, r.rebuilt, r.deleted, r.guarded, state.peer(), state.peer(), state.peer());
        } else if (r.conservative == null) {
            LOG.info("resync snapshot of {} (previous position {}) reconciled: {} key(s) replaced, {} rebuilt from its copy and"
                            + " the writes here it had not applied, {} kept because they hold writes {} had not applied, {} key(s) it"
                            + " no longer has deleted", state.peer(), r.resyncOf, r.replaced, r.rebuilt, r.guarded, state.peer(), r.deleted);
        } else {
            LOG.warn("resync snapshot of {} (previous position {}) applied conservatively: {}. Keys {} changed while its"
                            + " capture was away were only added where missing and nothing was deleted, so copies here can be"
                            + " stale; run ferry verify --config <mesh.yaml> --repair", state.peer(), r.resyncOf, r.conservative,
                    state.peer());
        }
        end(state);
    }

    /** On a cluster target, the set in {@code key}'s slot ({@link ReplicationPolicy#slotResyncKeysKey}). */
    @Override
    public byte[] broughtKeysKey(PartitionState state, byte[] key) {
        return redis.isCluster() ? slotSet(state, HashSlot.of(key)) : BatchBuilder.Resync.super.broughtKeysKey(state, key);
    }

    /** On a cluster target, every slot's set. */
    @Override
    public List<byte[]> broughtKeysKeys(PartitionState state) {
        if (!redis.isCluster()) {
            return BatchBuilder.Resync.super.broughtKeysKeys(state);
        }
        return allSlotSets.computeIfAbsent(AppliedVector.entry(state.peer(), state.partition().partition()), entry -> {
            List<byte[]> sets = new ArrayList<>(HashSlot.COUNT);
            for (int slot = 0; slot < HashSlot.COUNT; slot++) {
                sets.add(slotSet(state, slot));
            }
            return List.copyOf(sets);
        });
    }

    private static byte[] slotSet(PartitionState state, int slot) {
        return ReplicationPolicy.slotResyncKeysKey(state.peer(), state.partition().partition(), HashSlot.tag(slot));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Reconciliation reconciliation(PartitionState state, ConsumerRecord<byte[], byte[]> record) {
        String id = AppliedVector.entry(state.peer(), state.partition().partition());
        Reconciliation r = active.get(id);
        Header resync = record.headers().lastHeader(ReplicationPolicy.RESYNC_HEADER);
        String resyncOf = resync == null || resync.value() == null ? "?" : new String(resync.value(), StandardCharsets.UTF_8);
        if (r != null && r.resyncOf.equals(resyncOf)) {
            return r;
        }
        end(state);
        Header applied = record.headers().lastHeader(ReplicationPolicy.APPLIED_HEADER);
        AppliedVector vector;
        String problem = null;
        try {
            vector = applied == null || applied.value() == null ? null : AppliedVector.decode(applied.value());
        } catch (IllegalArgumentException e) {
            vector = null;
        }
        if (vector == null) {
            problem = "the snapshot records carry no readable applied vector";
            vector = AppliedVector.EMPTY;
        } else if (mesh.instance(state.peer()).redis().cluster()) {
            // its partition carries one shard: keys here of its other shards are not in this snapshot, yet not deleted there
            problem = "it is the copy of one shard of a Redis Cluster, so which keys here " + state.peer() + " no longer has is unknown";
        }
        UnseenWritesReader unseen = new UnseenWritesReader(self, mesh.instance(self), mesh.peersOf(self), state.peer(), vector,
                MAX_GUARDED_KEYS, MAX_UNSEEN_RECORDS, MAX_REPLAY_BYTES);
        r = new Reconciliation(resyncOf, unseen);
        active.put(id, r);
        LOG.warn("{} had a full resync (its capture's position {} had left its Redis's replication backlog): reconciling its"
                + " snapshot (applied vector {}, from offset {} of {}) with this instance's keys", state.peer(), resyncOf, vector,
                record.offset(), state.partition());
        if (problem != null) {
            conservative(state, r, problem);
        }
        return r;
    }

    private void conservative(PartitionState state, Reconciliation r, String why) {
        if (r.conservative == null) {
            r.conservative = why;
            LOG.warn("resync snapshot of {}: {}; its keys are only added where missing here and nothing is deleted", state.peer(), why);
        }
    }

    /**
     * Keys here, in every db, that the snapshot did not bring and that no unseen write guards; those an unseen write
     * guards are handed to {@link GuardedKeys} as of the snapshot's {@code end}. On a cluster every master is
     * SCANned twice, in opposite orders: a key whose slot moves during one pass to a master that pass had already
     * scanned is found by the other (a key moves once per reshard).
     */
    private Map<Integer, List<byte[]>> absentFromSnapshot(PartitionState state, Reconciliation r, ChangeEvent end, long endOffset) {
        Map<Integer, List<byte[]>> stale = new TreeMap<>();
        r.absentRebuilt = new TreeMap<>(); // an end built again is judged again
        Set<KeyId> found = new LinkedHashSet<>();
        Set<KeyId> ambiguous = new HashSet<>();
        for (int db : databases()) {
            for (boolean reversed : redis.isCluster() ? List.of(false, true) : List.of(false)) {
                redis.scanEveryMaster(db, reversed, page -> {
                    for (KeyId key : notBrought(state, db, page)) {
                        UnseenWritesReader.Unseen unseen = r.unseen.unseen(key);
                        if (unseen == UnseenWritesReader.Unseen.NOTHING) {
                            found.add(key);
                        } else if (unseen == UnseenWritesReader.Unseen.SNAPSHOT) {
                            ambiguous.add(key); // kept: the other snapshot may hold its instance's gap write
                        } else if (rebuildable(r, key)) {
                            r.absentRebuilt.computeIfAbsent(key.db(), d -> new ArrayList<>()).add(key.key());
                        } else {
                            handGuarded(r, end, endOffset, key); // the origin may have deleted it in its gap
                        }
                    }
                });
            }
        }
        r.ambiguous += ambiguous.size();
        found.forEach(key -> stale.computeIfAbsent(key.db(), d -> new ArrayList<>()).add(key.key()));
        return stale;
    }

    /** The keys of a SCAN page of {@code db} that the snapshot did not bring (Ferry's own left out): one SMISMEMBER per set. */
    private List<KeyId> notBrought(PartitionState state, int db, List<byte[]> page) {
        Map<Integer, List<byte[]>> bySet = new LinkedHashMap<>(); // by slot on a cluster: each slot has its set
        for (byte[] key : page) {
            if (!ReplicationPolicy.isReservedKey(key)) {
                bySet.computeIfAbsent(redis.isCluster() ? HashSlot.of(key) : 0, s -> new ArrayList<>()).add(key);
            }
        }
        List<RawCommand> asks = new ArrayList<>(bySet.size());
        for (List<byte[]> keys : bySet.values()) {
            List<byte[]> args = new ArrayList<>(keys.size() + 1);
            args.add(broughtKeysKey(state, keys.get(0)));
            keys.forEach(key -> args.add(BatchBuilder.member(db, key)));
            asks.add(new RawCommand("SMISMEMBER", args));
        }
        List<Object> replies = redis.callEach(asks);
        List<KeyId> absent = new ArrayList<>();
        int i = 0;
        for (List<byte[]> keys : bySet.values()) {
            Object members = replies.get(i++);
            if (!(members instanceof List<?> flags) || flags.size() != keys.size()) {
                throw new IllegalStateException("SMISMEMBER answered " + Reply.describe(members));
            }
            for (int k = 0; k < keys.size(); k++) {
                if (Long.valueOf(0).equals(flags.get(k))) {
                    absent.add(new KeyId(db, keys.get(k)));
                }
            }
        }
        return absent;
    }

    private List<Integer> databases() {
        if (redis.isCluster()) {
            return List.of(0);
        }
        List<Integer> dbs = new ArrayList<>();
        Matcher m = KEYSPACE_DB.matcher(text("INFO keyspace", redis.call(new RawCommand("INFO", List.of(bytes("keyspace"))))));
        while (m.find()) {
            dbs.add(Integer.parseInt(m.group(1)));
        }
        return dbs;
    }

    /** Where each master of this instance stands (the one Redis of a standalone instance). */
    private List<ReplicationPoint> replicationPoints() {
        List<ReplicationPoint> points = new ArrayList<>();
        for (Object reply : redis.callOnEveryMaster(new RawCommand("INFO", List.of(bytes("replication"))))) {
            points.add(ReplicationPoint.parse(text("INFO replication", reply)));
        }
        return points;
    }

    private static String text(String command, Object reply) {
        if (!(reply instanceof byte[] text)) {
            throw new IllegalStateException(command + " answered " + Reply.describe(reply));
        }
        return new String(text, StandardCharsets.UTF_8).replace("\r", "");
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    private void end(PartitionState state) {
        Reconciliation r = active.remove(AppliedVector.entry(state.peer(), state.partition().partition()));
        if (r != null) {
            r.unseen.close();
        }
    }

    @Override
    public void close() {
        active.values().forEach(r -> r.unseen.close());
        active.clear();
    }
}
