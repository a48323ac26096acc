package io.ferry.apply.resync;

import io.ferry.apply.batch.BatchBuilder;
import io.ferry.apply.batch.EventBatch;
import io.ferry.apply.batch.PartitionState;
import io.ferry.apply.convergence.KeyId;
import io.ferry.apply.metrics.ApplyMetrics;
import io.ferry.apply.redis.RawCommand;
import io.ferry.apply.redis.RedisTargetClient;
import io.ferry.apply.redis.Reply;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.MeshConfig;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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
 * never had it although it had seen every write to it). Guarded keys are left as they are: their unseen writes
 * reach the origin through its apply agent. The origin may also have changed a guarded key in its gap (writes
 * never published, only in the snapshot), so each one kept because of an unseen write is handed to
 * {@link GuardedKeys} with where those writes end: the origin's value holds both once it has applied them. A
 * batch that overwrites or deletes is sent with its keys WATCHed and judged again after this instance's capture
 * has published every write made before the WATCH ({@link #watchOverwrites}), so a local write made at any
 * moment is never overwritten.
 *
 * <p>Safe, loud fallbacks: when the unseen writes cannot be bounded (more than {@link #MAX_GUARDED_KEYS} keys or
 * {@link #MAX_UNSEEN_RECORDS} records) or this instance's own capture is not caught up with its Redis (writes here
 * not yet published could be overwritten), every key is guarded: the snapshot only adds missing keys and nothing is
 * deleted, with a WARN saying to run {@code ferry verify --repair}. Runs on the apply thread with nothing in flight.
 */
public final class ResyncReconciler implements BatchBuilder.Resync, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ResyncReconciler.class);
    static final int MAX_GUARDED_KEYS = 1_000_000;
    static final long MAX_UNSEEN_RECORDS = 5_000_000;
    private static final long REFRESH_NANOS = 20_000_000L;
    static final long MAX_CATCH_UP_NANOS = 120_000_000_000L;
    private static final long OWN_PUBLISH_WAIT_NANOS = 10_000_000_000L;
    private static final int SCAN_COUNT = 1000;
    private static final Pattern KEYSPACE_DB = Pattern.compile("^db(\\d+):keys=", Pattern.MULTILINE);
    private static final Pattern REPL_OFFSET = Pattern.compile("^master_repl_offset:(\\d+)", Pattern.MULTILINE);

    private final MeshConfig mesh;
    private final String self;
    private final RedisTargetClient redis;
    private final ApplyMetrics metrics;
    private final GuardedKeys guardedKeys;
    private final Map<String, Reconciliation> active = new HashMap<>();

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
        /** Replication offset of this instance its own capture must have published before going on (-1: not set). */
        long catchUpTarget = -1;
        long catchUpSince;
        boolean endTargetSet;
        boolean caughtUp;
        boolean caughtUpForEnd;
        boolean waitLogged;
        /** SNAPSHOT_END is in the batch being built or sent: its commit ends the reconciliation. */
        boolean endReached;
        long replaced;
        long guarded;
        long deleted;
        /** Keys held by this snapshot and by another instance's snapshot the origin had not applied (concurrent resyncs). */
        long ambiguous;
        /** Guarded keys already handed to {@link GuardedKeys} (a batch judged again does not hand them twice). */
        final Set<KeyId> handed = new HashSet<>();

        Reconciliation(String resyncOf, UnseenWritesReader unseen) {
            this.resyncOf = resyncOf;
            this.unseen = unseen;
        }
    }

    public ResyncReconciler(MeshConfig mesh, String self, RedisTargetClient redis, ApplyMetrics metrics, GuardedKeys guardedKeys) {
        this.mesh = mesh;
        this.self = self;
        this.redis = redis;
        this.metrics = metrics;
        this.guardedKeys = guardedKeys;
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
        if (r.catchUpTarget < 0 || (end && !r.endTargetSet)) {
            r.catchUpTarget = replicationOffset();
            r.catchUpSince = now;
            r.endTargetSet = end;
            r.caughtUp = false;
        } else if (now - r.lastRefresh < REFRESH_NANOS) {
            return false;
        }
        if (!readOn(state, r)) {
            return true;
        }
        if (r.unseen.ownPosition() >= r.catchUpTarget) {
            r.caughtUp = true;
            r.caughtUpForEnd = end;
            return true;
        }
        if (now - r.catchUpSince > MAX_CATCH_UP_NANOS) {
            conservative(state, r, "this instance's capture has not published its writes up to replication offset "
                    + r.catchUpTarget + " within " + MAX_CATCH_UP_NANOS / 1_000_000_000L + " s (is it running?)");
            return true;
        }
        if (!r.waitLogged) {
            r.waitLogged = true;
            LOG.info("resync snapshot of {} waits until this instance's capture has published up to replication offset {}",
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
        if (mayOverwrite(state, r, id)) {
            r.replaced++;
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
            guardedKeys.kept(snapshot, kafkaOffset, key.db(), key.key(), r.unseen.unseenEnds(key));
        }
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

    /** Whether {@code batch} belongs to a reconciliation: it must be sent with {@link #watchOverwrites} and then {@link #committed}. */
    public boolean reconciling(EventBatch batch) {
        return active.containsKey(AppliedVector.entry(batch.partition().peer(), batch.partition().partition().partition()));
    }

    /**
     * Makes the batch's overwrites (RESTORE … REPLACE, deletions at the end) safe against writes made here since
     * its keys were judged: WATCHes their keys, waits until this instance's capture has published what its Redis
     * holds now, reads the unseen writes on and leaves out the keys they now guard. A key written before the WATCH
     * is then known to be guarded; one written after it makes the EXEC fail, and the caller asks again. Returns
     * the batch to send (with the keys still watched), or the same batch applied conservatively (nothing
     * overwritten or deleted) when this instance's writes cannot be known in time.
     */
    public EventBatch watchOverwrites(EventBatch batch) {
        PartitionState state = batch.partition();
        Reconciliation r = active.get(AppliedVector.entry(state.peer(), state.partition().partition()));
        if (r == null || batch.overwrites().isEmpty()) {
            return batch;
        }
        if (r.conservative == null) {
            watch(batch.overwrites());
            long target = replicationOffset();
            long deadline = System.nanoTime() + OWN_PUBLISH_WAIT_NANOS;
            while (r.conservative == null && r.unseen.ownPosition() < target && readOn(state, r)) {
                if (System.nanoTime() > deadline) {
                    conservative(state, r, "this instance's capture has not published its writes up to replication offset "
                            + target + " within " + OWN_PUBLISH_WAIT_NANOS / 1_000_000_000L + " s, needed before overwriting anything");
                }
                sleep(5);
            }
            readOn(state, r);
        }
        Map<Integer, RawCommand> lines = new HashMap<>();
        List<EventBatch.Overwrite> still = new ArrayList<>();
        for (EventBatch.Overwrite overwrite : batch.overwrites()) {
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
                if (!overwrite.isDeletion()) {
                    r.replaced--;
                    r.guarded++;
                }
            }
        }
        if (lines.isEmpty()) {
            return batch;
        }
        if (r.conservative != null) {
            redis.call(new RawCommand("UNWATCH", List.of()));
        }
        return batch.rewritten(lines, still);
    }

    private void watch(List<EventBatch.Overwrite> overwrites) {
        Map<Integer, List<byte[]>> byDb = new TreeMap<>();
        overwrites.forEach(overwrite -> byDb.computeIfAbsent(overwrite.db(), db -> new ArrayList<>()).addAll(overwrite.keys()));
        try {
            byDb.forEach((db, keys) -> {
                select(db);
                redis.call(new RawCommand("WATCH", keys));
            });
        } finally {
            select(0);
        }
    }

    /** {@code batch} is in Redis: at the snapshot's end, reports what the reconciliation did and ends it. */
    public void committed(EventBatch batch) {
        PartitionState state = batch.partition();
        Reconciliation r = active.get(AppliedVector.entry(state.peer(), state.partition().partition()));
        if (r == null) {
            return;
        }
        batch.overwrites().stream().filter(EventBatch.Overwrite::isDeletion).forEach(overwrite -> r.deleted += overwrite.keys().size());
        if (!r.endReached) {
            return;
        }
        ApplyMetrics.Peer peer = metrics.peer(state.peer());
        peer.resyncKeys("replaced", r.replaced);
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
        if (r.conservative == null) {
            LOG.info("resync snapshot of {} (previous position {}) reconciled: {} key(s) replaced, {} kept because they hold"
                            + " writes {} had not applied, {} key(s) it no longer has deleted", state.peer(), r.resyncOf,
                    r.replaced, r.guarded, state.peer(), r.deleted);
        } else {
            LOG.warn("resync snapshot of {} (previous position {}) applied conservatively: {}. Keys {} changed while its"
                            + " capture was away were only added where missing and nothing was deleted, so copies here can be"
                            + " stale; run ferry verify --config <mesh.yaml> --repair", state.peer(), r.resyncOf, r.conservative,
                    state.peer());
        }
        end(state);
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
        }
        UnseenWritesReader unseen = new UnseenWritesReader(self, mesh.instance(self), mesh.peersOf(self), state.peer(), vector,
                MAX_GUARDED_KEYS, MAX_UNSEEN_RECORDS);
        r = new Reconciliation(resyncOf, unseen);
        active.put(id, r);
        LOG.warn("{} had a full resync (its capture's position {} had left its Redis's replication backlog): reconciling its"
                + " snapshot (applied vector {}) with this instance's keys", state.peer(), resyncOf, vector);
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
     * guards are handed to {@link GuardedKeys} as of the snapshot's {@code end}.
     */
    private Map<Integer, List<byte[]>> absentFromSnapshot(PartitionState state, Reconciliation r, ChangeEvent end, long endOffset) {
        byte[] snapshotKeys = ReplicationPolicy.resyncKeysKey(state.peer(), state.partition().partition());
        Map<Integer, List<byte[]>> stale = new TreeMap<>();
        try {
            for (int db : databases()) {
                byte[] cursor = "0".getBytes(StandardCharsets.US_ASCII);
                do {
                    select(db);
                    Object reply = redis.call(new RawCommand("SCAN", List.of(cursor, bytes("COUNT"), bytes(Integer.toString(SCAN_COUNT)))));
                    if (!(reply instanceof List<?> page) || page.size() != 2 || !(page.get(1) instanceof List<?> found)) {
                        throw new IllegalStateException("SCAN answered " + Reply.describe(reply));
                    }
                    cursor = (byte[]) page.get(0);
                    List<byte[]> keys = new ArrayList<>(found.size());
                    for (Object key : found) {
                        if (key instanceof byte[] k && !ReplicationPolicy.isReservedKey(k)) {
                            keys.add(k);
                        }
                    }
                    if (keys.isEmpty()) {
                        continue;
                    }
                    select(0);
                    List<byte[]> args = new ArrayList<>(keys.size() + 1);
                    args.add(snapshotKeys);
                    keys.forEach(k -> args.add(BatchBuilder.member(db, k)));
                    Object members = redis.call(new RawCommand("SMISMEMBER", args));
                    if (!(members instanceof List<?> flags) || flags.size() != keys.size()) {
                        throw new IllegalStateException("SMISMEMBER answered " + Reply.describe(members));
                    }
                    for (int i = 0; i < keys.size(); i++) {
                        if (!Long.valueOf(0).equals(flags.get(i))) {
                            continue;
                        }
                        KeyId key = new KeyId(db, keys.get(i));
                        UnseenWritesReader.Unseen unseen = r.unseen.unseen(key);
                        if (unseen == UnseenWritesReader.Unseen.NOTHING) {
                            stale.computeIfAbsent(db, d -> new ArrayList<>()).add(keys.get(i));
                        } else if (unseen == UnseenWritesReader.Unseen.SNAPSHOT) {
                            r.ambiguous++; // kept: the other snapshot may hold its instance's gap write
                        } else {
                            handGuarded(r, end, endOffset, key); // the origin may have deleted it in its gap
                        }
                    }
                } while (!Arrays.equals(cursor, "0".getBytes(StandardCharsets.US_ASCII)));
            }
        } finally {
            select(0);
        }
        return stale;
    }

    private List<Integer> databases() {
        List<Integer> dbs = new ArrayList<>();
        Matcher m = KEYSPACE_DB.matcher(info("keyspace"));
        while (m.find()) {
            dbs.add(Integer.parseInt(m.group(1)));
        }
        return dbs;
    }

    private long replicationOffset() {
        Matcher m = REPL_OFFSET.matcher(info("replication"));
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    private String info(String section) {
        Object reply = redis.call(new RawCommand("INFO", List.of(bytes(section))));
        if (!(reply instanceof byte[] text)) {
            throw new IllegalStateException("INFO " + section + " answered " + Reply.describe(reply));
        }
        return new String(text, StandardCharsets.UTF_8).replace("\r", "");
    }

    private void select(int db) {
        redis.call(new RawCommand("SELECT", List.of(bytes(Integer.toString(db)))));
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
