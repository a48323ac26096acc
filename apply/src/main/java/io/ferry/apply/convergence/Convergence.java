package io.ferry.apply.convergence;

import io.ferry.apply.batch.ChangeEventDecoder;
import io.ferry.apply.conflict.ConflictPublisher;
import io.ferry.apply.conflict.ConflictType;
import io.ferry.apply.metrics.ApplyMetrics;
import io.ferry.apply.redis.RawCommand;
import io.ferry.apply.redis.RedisError;
import io.ferry.apply.redis.RedisTargetClient;
import io.ferry.apply.redis.Reply;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.ConflictingWrite;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.Heartbeat;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.MeshConfig;
import io.ferry.topology.conflict.ConflictPolicy;
import io.ferry.topology.conflict.ConflictRules;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes concurrent writes converge on this instance's side. Every concurrent pair this instance takes
 * part in (a peer's write and a local one, neither origin having applied the other) is found by
 * {@link WriteHistory}, classified, recorded and settled by the key's policy. Only the instance whose
 * write wins acts, so each pair is settled once: before applying a losing whole-value write it skips it
 * (it would erase the winner's value here), and after the pair it re-publishes its value (or re-executes
 * its winning whole-value write) as an ordinary local write, which its capture publishes and every peer
 * applies after both writes of the pair. Commuting pairs (counters, distinct members) need nothing.
 * Single-threaded: the apply loop's thread.
 */
public final class Convergence implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Convergence.class);
    private static final long SWEEP_NANOS = 1_000_000_000L;
    public static final int MAX_KEYS = 1_000_000;
    public static final Duration LOOKBACK = Duration.ofSeconds(60);
    /** Peer writes left out here (lost conflicts) remembered for key rebuilds after a peer's full resync. */
    static final int MAX_SKIPPED_WRITES = 100_000;
    /** Resolution of a conflict record asking the winner (its origin) to re-publish the key. */
    public static final String REQUESTED = "REQUESTED";
    /** Re-publication requests that may wait here at once for this instance to apply what their requester saw. */
    static final int MAX_DEFERRED_KEYS = 100_000;

    private final String self;
    private final ConflictRules rules;
    private final ConflictPublisher conflicts;
    private final ApplyMetrics metrics;
    private final OwnWritesReader own;
    private final RepairRequestReader requests;
    private final WriteHistory history;
    private final ChangeEventDecoder decoder = new ChangeEventDecoder();
    private final Map<KeyId, Repair> repairs = new LinkedHashMap<>();
    private final DeferredRepublishes deferred = new DeferredRepublishes(MAX_DEFERRED_KEYS);
    private final AwaitedCopies awaited = new AwaitedCopies(MAX_DEFERRED_KEYS, AwaitedCopies.WAIT_NANOS);
    private final SkippedWrites skipped = new SkippedWrites(MAX_SKIPPED_WRITES);
    private byte[] lastHeader;
    private ConsumerRecord<byte[], byte[]> lastRecord;
    private AppliedVector lastVector = AppliedVector.EMPTY;
    private long nextSweep = System.nanoTime();
    private long refusedSinceSweep;

    /** A settled pair waiting for its repair; recorded once the repair ran. */
    private record Recorded(ConflictType type, ChangeEvent remote, KeyId key, ConflictingWrite write, ConflictingWrite other,
                            String policy, String winner, String resolution) {
    }

    /**
     * What to run for one key: re-execute {@link #reexec()} (the winning local write, when a losing peer write
     * was applied here over it) or re-publish the current value. It runs once the key has had no new pair for
     * {@link #REPAIR_QUIET_NANOS} (at most {@link #REPAIR_MAX_DELAY_NANOS} after the first): a hot key written
     * everywhere at once gets one repair for a burst of pairs, not one per pair (each repair is a write that can
     * meet new writes).
     * <p>
     * Copying the current value is right only when that value is the winner's or a later write's; after a loser
     * was applied over the winner it is the loser's, and a copy stamped with the winner's time would spread it
     * everywhere. So the winning write is dropped for a copy only when a write is seen to take effect on the key
     * after the pair, decided here from the writes seen, never from the conflict window: the window forgets the
     * pair's writes on its own schedule (a peer's write once this instance's own stream has passed it) while the
     * repair waits.
     */
    static final class Repair {
        private Write reexec;
        long sourceTime;
        /**
         * A re-publication after a resync of this instance, or a repair settling one's concurrent writes: marked for
         * peers, so it wins against partial writes (see {@link Precedence}) as the copy it settles did.
         */
        boolean republication;
        final List<Recorded> recorded = new ArrayList<>();
        private final long queuedNanos = System.nanoTime();
        long dueNanos;

        /** The first pair won on the key: {@code reexec} as in {@link #won}. */
        Repair(Write reexec, long sourceTime) {
            this.reexec = reexec;
            this.sourceTime = sourceTime;
            touched();
        }

        /**
         * Another pair won on the key. {@code reexec}: its winning local write, when its loser was applied here
         * over it and it can be run again alone, else null. {@code skipped}: its loser is not applied here, so
         * the key's value is what it was.
         */
        void won(Write reexec, boolean skipped, long time) {
            if (!skipped && !same(this.reexec, reexec)) {
                this.reexec = null; // two different winning writes, or a loser applied that cannot be undone: copy the value
            }
            again(time);
        }

        /** Another pair or a peer's request for the key: the repair carries the latest winning time and waits for quiet again. */
        void again(long time) {
            sourceTime = Math.max(sourceTime, time);
            touched();
        }

        /** {@code write} took effect on the key here after the pair: its value, not the winner's, is the one to copy. */
        void writtenHere(Write write) {
            if (!same(reexec, write)) {
                reexec = null;
            }
        }

        /** The winning write to run again, or null to re-publish the key's current value. */
        Write reexec() {
            return reexec;
        }

        private void touched() {
            dueNanos = Math.min(queuedNanos + REPAIR_MAX_DELAY_NANOS, System.nanoTime() + REPAIR_QUIET_NANOS);
        }
    }

    static final long REPAIR_QUIET_NANOS = 50_000_000L;
    static final long REPAIR_MAX_DELAY_NANOS = 250_000_000L;

    private static boolean same(Write a, Write b) {
        return a != null && b != null && a.sameAs(b);
    }

    public Convergence(MeshConfig mesh, String self, ConflictPublisher conflicts, ApplyMetrics metrics) {
        this.self = self;
        this.rules = mesh.conflicts();
        this.conflicts = conflicts;
        this.metrics = metrics;
        this.history = new WriteHistory(self, MAX_KEYS, mesh.peersOf(self).stream().map(p -> p.id()).toList());
        this.own = new OwnWritesReader(self, mesh.instance(self).kafka(), LOOKBACK);
        this.requests = new RepairRequestReader(self, mesh.peersOf(self), LOOKBACK);
    }

    /** The applied vector of a record (empty for records of a capture before this release). */
    public AppliedVector vectorOf(ConsumerRecord<byte[], byte[]> record) {
        if (record == lastRecord) {
            return lastVector; // the causal check and the admission read the same record
        }
        lastRecord = record;
        Header header = record.headers().lastHeader(ReplicationPolicy.APPLIED_HEADER);
        byte[] value = header == null ? null : header.value();
        if (value == null) {
            lastHeader = null;
            lastVector = AppliedVector.EMPTY; // asked again for this record, the cache must answer the same
            return lastVector;
        }
        if (!Arrays.equals(value, lastHeader)) {
            try {
                lastVector = AppliedVector.decode(value);
            } catch (IllegalArgumentException e) {
                LOG.warn("record {}-{}@{}: {}; taken as empty (its conflicts may go unseen)", record.topic(),
                        record.partition(), record.offset(), e.getMessage());
                lastVector = AppliedVector.EMPTY;
            }
            lastHeader = value;
        }
        return lastVector;
    }

    /** Any record of peer {@code peer}: what it had applied of this instance (prunes the history). */
    public void observe(String peer, AppliedVector vector) {
        history.peerApplied(peer, vector);
    }

    /**
     * A peer's COMMAND or TRANSACTION about to be applied: finds, records and settles its concurrent
     * pairs with known local writes. False when it loses to them and must not be applied here.
     */
    public boolean admit(ChangeEvent event, ConsumerRecord<byte[], byte[]> record) {
        AppliedVector vector = vectorOf(record);
        observe(event.getOrigin(), vector);
        Write write = writeOf(event, record, vector);
        List<KeyId> keys = keysOf(event);
        peerWrote(write, keys);
        if (write.republished()) {
            awaited.arrived(write.origin(), keys);
        }
        List<WriteHistory.Pair> pairs = history.remote(write, keys);
        boolean admitted = pairs.isEmpty() || !(settleEach(pairs) && write.single()); // every pair is settled, whatever the event
        skipped.judged(AppliedVector.entry(write.origin(), write.partition()), write.offset(),
                admitted ? SkippedWrites.Outcome.APPLIED : SkippedWrites.Outcome.SKIPPED);
        if (admitted) {
            writtenHere(write, keys);
        }
        return admitted;
    }

    /**
     * Whether the write at {@code offset} of peer partition {@code entry} took effect here: TRUE, FALSE (it lost a
     * conflict here and was left out) or null when unknown (read again after a restart with a concurrent local write,
     * judged before what this agent read again, or forgotten past {@link #MAX_SKIPPED_WRITES}).
     */
    public Boolean appliedHere(String entry, long offset) {
        return switch (skipped.outcome(entry, offset)) {
            case APPLIED -> Boolean.TRUE;
            case SKIPPED -> Boolean.FALSE;
            case UNKNOWN -> null;
        };
    }

    /**
     * A peer's COMMAND or TRANSACTION applied here before this agent started, read again: remembered (and
     * paired with local writes already read back) so a restart does not hide its conflicts.
     */
    public void replayed(ChangeEvent event, ConsumerRecord<byte[], byte[]> record) {
        Write write = writeOf(event, record, vectorOf(record));
        List<KeyId> keys = keysOf(event);
        peerWrote(write, keys);
        writtenHere(write, keys); // before its own pairs: their repairs run the winner again over it
        List<WriteHistory.Pair> pairs = history.replayed(write, keys);
        settleEach(pairs);
        // whether it was left out when first judged is not recorded: only a single whole-value write with a concurrent
        // local write can have been
        boolean applied = pairs.isEmpty() || !write.single() || !ConflictClassifier.wholeValue(event.getCommands().get(0));
        skipped.judged(AppliedVector.entry(write.origin(), write.partition()), write.offset(),
                applied ? SkippedWrites.Outcome.APPLIED : SkippedWrites.Outcome.UNKNOWN);
    }

    private static Write writeOf(ChangeEvent event, ConsumerRecord<byte[], byte[]> record, AppliedVector vector) {
        boolean republished = record.headers().lastHeader(ReplicationPolicy.REPUBLISHED_HEADER) != null;
        return Write.of(event, record.partition(), record.offset(), vector, republished);
    }

    private void peerWrote(Write write, List<KeyId> keys) {
        if (!deferred.isEmpty()) {
            String entry = AppliedVector.entry(write.origin(), write.partition());
            keys.forEach(key -> deferred.peerWrote(key, entry, write.timeMillis()));
        }
    }

    /**
     * {@code events} of {@code peer}'s {@code partition} are applied here: how far its stream is known to have been
     * applied, in its source time, for the quiet that deferred re-publications wait for. A heartbeat counts only when
     * its capture had read everything its Redis had (a capture behind its Redis still sends heartbeats, and writes
     * it has yet to read must not pass for quiet); a snapshot record counts as a write to every key.
     */
    public void applied(String peer, int partition, List<ChangeEvent> events) {
        String entry = AppliedVector.entry(peer, partition);
        for (ChangeEvent event : events) {
            long time = event.getCaptureTimeMillis().toEpochMilli();
            switch (event.getKind()) {
                case COMMAND, TRANSACTION -> deferred.streamReached(entry, time);
                case HEARTBEAT -> {
                    Heartbeat beat = event.getHeartbeat();
                    if (beat != null && beat.getCapturedOffset() >= beat.getSourceOffset()) {
                        deferred.streamReached(entry, time);
                    }
                }
                default -> {
                    deferred.snapshotApplied(entry, time);
                    deferred.streamReached(entry, time);
                }
            }
        }
    }

    /** {@code write} takes effect here on {@code keys}: the repairs waiting for them copy the value from now on. */
    private void writtenHere(Write write, List<KeyId> keys) {
        if (repairs.isEmpty()) {
            return;
        }
        for (KeyId key : keys) {
            Repair repair = repairs.get(key);
            if (repair != null) {
                repair.writtenHere(write);
            }
        }
    }

    /**
     * A peer's write that took effect on its origin did nothing here (reply 0: a TTL change or SMOVE on a
     * key that already expired here): the origin holds the value, so under lww or priority it is asked to
     * re-publish the key; under report the conflict is only recorded.
     */
    public void requestFromOrigin(ConflictType type, ChangeEvent event, Command command, int db, List<byte[]> keys) {
        ConflictingWrite write = new ConflictingWrite(event.getOrigin(), -1L, event.getPosition(),
                event.getCaptureTimeMillis().toEpochMilli(), command);
        for (byte[] key : keys) {
            askOrigin(type, event, db, key, write, AppliedVector.EMPTY);
        }
    }

    /**
     * A key this instance kept when reconciling a resync snapshot of {@code snapshot}'s origin, because writes the
     * origin had not applied touched it (see {@code ResyncReconciler}). The origin may have changed the key in its
     * gap too (those writes were never published), so under lww or priority it is asked to re-publish the key once
     * it has applied {@code unseenEnds}: its value then holds both; under report the key is only recorded.
     */
    public void requestAfterResync(ChangeEvent snapshot, long kafkaOffset, int db, byte[] key, AppliedVector unseenEnds) {
        askOrigin(ConflictType.RESYNC_GUARDED, snapshot, db, key, resyncWrite(snapshot, kafkaOffset, key), unseenEnds);
    }

    /**
     * Such a key when re-publication is off ({@code apply.republishGuardedKeys: false}): only recorded
     * ({@code RECORDED}), so the keys that may stay different are listed in the conflicts topic for
     * {@code ferry verify --repair}, never asked for.
     */
    public void recordAfterResync(ChangeEvent snapshot, long kafkaOffset, int db, byte[] key, AppliedVector unseenEnds) {
        conflicts.publishRequest(ConflictType.RESYNC_GUARDED, snapshot, db, key, resyncWrite(snapshot, kafkaOffset, key),
                rules.policyFor(key).kind().label(), null, "RECORDED", unseenEnds);
    }

    private static ConflictingWrite resyncWrite(ChangeEvent snapshot, long kafkaOffset, byte[] key) {
        return new ConflictingWrite(snapshot.getOrigin(), kafkaOffset, snapshot.getPosition(),
                snapshot.getCaptureTimeMillis().toEpochMilli(), new Command("RESTORE", List.of(ByteBuffer.wrap(key))));
    }

    /** Records {@code write}'s key and, unless its policy is report, asks {@code event}'s origin to re-publish it after {@code after}. */
    private void askOrigin(ConflictType type, ChangeEvent event, int db, byte[] key, ConflictingWrite write, AppliedVector after) {
        ConflictPolicy policy = rules.policyFor(key);
        boolean ask = policy.kind() != ConflictPolicy.Kind.REPORT;
        conflicts.publishRequest(type, event, db, key, write, policy.kind().label(), ask ? event.getOrigin() : null,
                ask ? REQUESTED : "RECORDED", after);
        if (ask && type == ConflictType.RESYNC_GUARDED) {
            awaited.await(new KeyId(db, key), event.getOrigin(), System.nanoTime());
        }
    }

    /** Reads local writes that arrived in the own changes topic and settles the pairs they complete. */
    public void pollOwnWrites() {
        for (ConsumerRecord<byte[], byte[]> record : own.poll()) {
            ownRecord(record);
        }
        long now = System.nanoTime();
        for (io.ferry.schemas.Conflict request : requests.poll()) {
            requested(request, now);
        }
        for (DeferredRepublishes.Due due : deferred.due(history.ownProgress(), now)) {
            // with the time of the newest write in the value, not the current one: a concurrent write made after
            // that value (not applied here yet) must win over this copy of an older value under lww
            long valueMillis = valueMillis(due.key(), due.valueMillis());
            due.requests().forEach(request -> republish(due.key(), request, valueMillis));
            metrics.republishRequest("republished");
        }
        metrics.republishWaiting(deferred.size());
        sweepWhenDue(now);
    }

    /** One record of the own changes topic: a local write settles the pairs it completes; any record shows progress. */
    void ownRecord(ConsumerRecord<byte[], byte[]> record) {
        ChangeEvent event;
        try {
            event = decoder.decode(record.value());
        } catch (SerializationException e) {
            return; // the peers' apply agents dead-letter it; nothing to detect
        }
        AppliedVector vector = vectorOf(record);
        EventKind kind = event.getKind();
        if (kind == EventKind.COMMAND || kind == EventKind.TRANSACTION) {
            Write write = writeOf(event, record, vector);
            List<KeyId> keys = keysOf(event);
            settleEach(history.local(write, keys));
            writtenHere(write, keys);
        }
        if (kind == EventKind.COMMAND || kind == EventKind.TRANSACTION || kind == EventKind.HEARTBEAT) {
            history.ownProgress(vector);
        }
    }

    /**
     * A peer's request to re-publish a key this instance holds (see {@link #requestFromOrigin} and
     * {@link #requestAfterResync}): queued now, or deferred until this instance has applied what the request says.
     */
    private void requested(io.ferry.schemas.Conflict request, long now) {
        KeyId key = new KeyId(request.getDb(), bytes(request.getKey()));
        AppliedVector after = request.getRepublishAfter() == null ? AppliedVector.EMPTY : AppliedVector.of(request.getRepublishAfter());
        if (after.isEmpty()) {
            republish(key, request, request.getWrite() != null ? request.getWrite().getTimeMillis() : 0);
        } else if (deferred.offer(key, after, request, request.getTimeMillis().toEpochMilli(), writeMillis(request), now)) {
            metrics.republishRequest("deferred");
        } else {
            metrics.republishRequest("refused");
            refusedSinceSweep++;
        }
    }

    /** Forgets, about once a second, what the conflict window no longer needs. */
    void sweepWhenDue(long now) {
        if (now - nextSweep < 0) {
            return;
        }
        nextSweep = now + SWEEP_NANOS;
        history.sweep();
        metrics.windowKeys(history.size());
        if (refusedSinceSweep > 0) {
            LOG.warn("{} request(s) to re-publish a key after a resync of this instance refused: {} keys already wait for"
                    + " this instance to apply what their requesters saw; those keys can stay different on the requesting"
                    + " peers (run ferry verify --config <mesh.yaml> --repair)", refusedSinceSweep, MAX_DEFERRED_KEYS);
            refusedSinceSweep = 0;
        }
        int overdue = deferred.newlyOverdue(now);
        if (overdue > 0) {
            metrics.republishRequest("overdue", overdue);
            LOG.warn("{} key(s) asked for again after a resync of this instance have waited more than {} s to be re-published"
                            + " ({} waiting): this instance has not applied the peers' writes they wait for yet, or peers keep"
                            + " writing them; they are re-published once both are done", overdue,
                    DeferredRepublishes.OVERDUE_NANOS / 1_000_000_000L, deferred.size());
        }
        long evicted = history.takeEvicted();
        if (evicted > 0) {
            metrics.windowEvicted((int) Math.min(Integer.MAX_VALUE, evicted));
            LOG.warn("conflict detection forgot {} writes (more than {} keys, {} MiB of writes or {} writes to one key not yet"
                    + " passed by every peer and this instance's own stream; is every instance's capture running?); a key that"
                    + " forgot writes of its own is re-published from here once nothing of it is pending", evicted, MAX_KEYS,
                    WriteHistory.DEFAULT_MAX_BYTES >> 20, WriteHistory.MAX_WRITES_PER_KEY);
        }
        republishDrainedOverflows();
        int expired = awaited.takeExpired();
        awaited.purge(now);
        if (expired > 0) {
            LOG.warn("{} key(s) kept here after a peer's full resync were not re-published by that peer within {} s: their"
                    + " repairs run now, so a copy from here may lack that peer's writes made while its capture was away (run"
                    + " ferry verify --config <mesh.yaml> --repair; is that peer's apply agent running?)", expired,
                    AwaitedCopies.WAIT_NANOS / 1_000_000_000L);
        }
    }

    /**
     * Re-publishes, with the current time, each key that forgot writes to the per-key bound once nothing of it is
     * pending: a concurrent pair with a forgotten write may have gone unseen here, and this copy, applied everywhere
     * after everything this instance has seen, leaves one value (later concurrent writes are paired with it as usual).
     */
    private void republishDrainedOverflows() {
        List<KeyId> drained = history.takeDrainedOverflows();
        for (KeyId key : drained) {
            repairs.computeIfAbsent(key, k -> new Repair(null, 0));
        }
        if (!drained.isEmpty()) {
            LOG.info("{} key(s) whose conflict detection forgot writes re-published, so every instance ends with one value", drained.size());
        }
        long notKept = history.takeOverflowsNotKept();
        if (notKept > 0) {
            LOG.warn("{} key(s) forgot writes while {} others already wait to be re-published: they are not; run ferry verify"
                    + " --config <mesh.yaml> --repair once the load is over", notKept, WriteHistory.MAX_OVERFLOWED_KEYS);
        }
    }

    /** The source time of the write a request names (a resync snapshot's), or when the request was made if it names none. */
    private static long writeMillis(io.ferry.schemas.Conflict request) {
        return request.getWrite() != null ? request.getWrite().getTimeMillis() : request.getTimeMillis().toEpochMilli();
    }

    /**
     * The newest source time of the writes known to have made {@code key}'s value here: {@code known} (from the
     * deferral) or the last local or peer write to it conflict detection still holds.
     */
    private long valueMillis(KeyId key, long known) {
        long millis = known;
        Write local = history.lastLocal(key);
        if (local != null) {
            millis = Math.max(millis, local.timeMillis());
        }
        Write applied = history.lastApplied(key);
        if (applied != null) {
            millis = Math.max(millis, applied.timeMillis());
        }
        return millis;
    }

    /** Queues a re-publication of {@code key}, as {@code request} asked, carrying {@code sourceTime} (0: the current time). */
    private void republish(KeyId key, io.ferry.schemas.Conflict request, long sourceTime) {
        Repair repair = repairs.get(key);
        if (repair == null) {
            repairs.put(key, repair = new Repair(null, sourceTime));
        } else {
            repair.again(sourceTime);
        }
        repair.republication |= ConflictType.RESYNC_GUARDED.name().equals(request.getType());
        if (request.getWrite() != null) {
            repair.recorded.add(new Recorded(ConflictType.valueOf(request.getType()), event(request), key,
                    request.getWrite(), null, request.getPolicy(), self, "REPAIRED"));
        }
        LOG.debug("{} asks for a key in db {} again ({})", request.getApplier(), request.getDb(), request.getType());
    }

    /**
     * Settles the pairs one write completed (one write on one side, several on the other), key by key;
     * true when every key says the remote write should be skipped.
     */
    private boolean settleEach(List<WriteHistory.Pair> pairs) {
        boolean skip = true;
        int from = 0;
        for (int i = 1; i <= pairs.size(); i++) {
            if (i == pairs.size() || !pairs.get(i).key().equals(pairs.get(from).key())) {
                skip &= settle(pairs.subList(from, i));
                from = i;
            }
        }
        return skip;
    }

    /** One pair as judged: its class and the winning instance (null when it commutes or is only reported). */
    private record Judged(WriteHistory.Pair pair, ConflictClassifier.Verdict verdict, String winner) {
    }

    /**
     * Decides the pairs of one write with one or several writes of the other side to one key, recorded as
     * one conflict. A peer's write against several local writes is judged against the latest local write it
     * clashes with (the one the peer's origin also finds deciding); a local write against several peer
     * writes is settled here if it wins against any of them. True when the remote write should be skipped
     * (this instance wins and applying a whole-value loser would erase its value).
     */
    private boolean settle(List<WriteHistory.Pair> pairs) {
        KeyId key = pairs.get(0).key();
        ConflictPolicy policy = rules.policyFor(key.key());
        boolean oneRemote = pairs.get(0).remote() == pairs.get(pairs.size() - 1).remote();
        Judged wonAny = null;
        Judged clash = null;
        Judged last = null;
        // newest first: one remote write is judged against the latest local write it clashes with, so the scan ends
        // there (a hot key can hold thousands of concurrent local writes)
        for (int i = pairs.size() - 1; i >= 0; i--) {
            WriteHistory.Pair pair = pairs.get(i);
            ConflictClassifier.Verdict verdict = ConflictClassifier.classify(pair.remote().commandsFor(key.key()), pair.local().commandsFor(key.key()));
            String winner = verdict.commutes() ? null : Precedence.winner(policy, pair.local(), pair.remote(), key.key());
            Judged judged = new Judged(pair, verdict, winner);
            if (last == null) {
                last = judged;
            }
            if (!verdict.commutes()) {
                if (clash == null) {
                    clash = judged;
                }
                if (wonAny == null && self.equals(winner)) {
                    wonAny = judged;
                }
                if (oneRemote) {
                    break;
                }
            }
        }
        Judged won = !oneRemote ? wonAny : clash != null && self.equals(clash.winner()) ? clash : null;
        if (won == null) {
            // commuting, report only, or the peer wins: its origin settles the pair
            Judged decisive = clash != null ? clash : last;
            Write remote = decisive.pair().remote();
            Write local = decisive.pair().local();
            conflicts.publishConcurrent(decisive.verdict().type(), remote.event(), key.db(), key.key(), describe(remote, remote.commandFor(key.key())),
                    describe(local, local.commandFor(key.key())), policy.kind().label(), decisive.winner(),
                    decisive.verdict().commutes() ? "COMMUTES" : "RECORDED");
            return false;
        }
        WriteHistory.Pair pair = won.pair();
        Write remote = pair.remote();
        Write local = pair.local();
        Command remoteCommand = remote.commandFor(key.key());
        Command localCommand = local.commandFor(key.key());
        ConflictClassifier.Verdict verdict = won.verdict();
        ConflictingWrite write = describe(remote, remoteCommand);
        ConflictingWrite other = describe(local, localCommand);
        String winner = won.winner();
        boolean skip = pair.beforeApply() && remote.single() && ConflictClassifier.wholeValue(remoteCommand);
        boolean keepLosers = false; // a copy won against a partial write applied after it here: copy the value, keeping that write
        for (WriteHistory.Pair each : pairs) {
            keepLosers |= each.local().sameAs(local) && Precedence.keepsLoser(local, each.remote(), key.key());
        }
        Write reexec = !pair.beforeApply() && !keepLosers && local.single() && ConflictClassifier.wholeValue(localCommand) ? local : null;
        Repair repair = repairs.get(key);
        if (repair == null) {
            repairs.put(key, repair = new Repair(reexec, local.timeMillis()));
        } else {
            repair.won(reexec, skip, local.timeMillis());
        }
        repair.republication |= local.republished();
        repair.recorded.add(new Recorded(verdict.type(), remote.event(), key, write, other, policy.kind().label(), winner,
                skip ? "SKIPPED" : "REPAIRED"));
        return skip;
    }

    /** Whether repairs are waiting (they run once the batches in flight are settled and their key is quiet). */
    public boolean hasRepairs() {
        return !repairs.isEmpty();
    }

    /**
     * Runs the waiting repairs on this instance's Redis, each as an ordinary write its capture publishes.
     * Throws {@link io.ferry.apply.redis.RedisUnavailableException} when Redis is gone (they stay queued).
     */
    public void runRepairs(RedisTargetClient redis) {
        long now = System.nanoTime();
        for (var it = repairs.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<KeyId, Repair> entry = it.next();
            KeyId key = entry.getKey();
            Repair repair = entry.getValue();
            if (repair.dueNanos - now > 0) {
                continue;
            }
            if (awaited.holds(key, now)) {
                repair.dueNanos = now + AwaitedCopies.RECHECK_NANOS;
                continue;
            }
            Write reexec = repair.reexec();
            Object reply = run(redis, key.db(), RepairTransaction.body(key.key(),
                    reexec != null ? reexec.event().getCommands().get(0) : null, repair.sourceTime, repair.republication));
            boolean ok = !Reply.isError(reply);
            metrics.repaired(ok);
            if (!ok) {
                LOG.error("repair of a key in db {} failed: {}; `ferry verify --repair` can settle it", key.db(), Reply.describe(reply));
            }
            for (Recorded r : repair.recorded) {
                conflicts.publishConcurrent(r.type(), r.remote(), r.key().db(), r.key().key(), r.write(), r.other(), r.policy(),
                        r.winner(), ok ? r.resolution() : "REPAIR_FAILED");
            }
            it.remove();
        }
    }

    /**
     * Runs one repair's transaction in its key's db. On a cluster it goes to the master of its slot and is
     * sent again whole after a MOVED or ASK, like the batches; a cluster has db 0 only.
     */
    private static Object run(RedisTargetClient redis, int db, List<RawCommand> body) {
        if (db == 0) {
            return RepairTransaction.outcome(redis.execute(List.of(body)).get(0));
        }
        if (redis.isCluster()) {
            return new RedisError("a Redis Cluster has db 0 only; the key is in db " + db);
        }
        redis.call(RawCommand.of("SELECT", Integer.toString(db)));
        try {
            return RepairTransaction.outcome(redis.execute(List.of(body)).get(0));
        } finally {
            redis.call(RawCommand.of("SELECT", "0"));
        }
    }

    /** The requesting side's record, as the event the re-publication answers (for the record's origin tag). */
    private static ChangeEvent event(io.ferry.schemas.Conflict request) {
        return ChangeEvent.newBuilder().setOrigin(request.getApplier()).setPosition(request.getPosition())
                .setKind(EventKind.COMMAND).setDb(request.getDb()).setCommands(List.of()).setKeys(List.of())
                .setCaptureTimeMillis(request.getTimeMillis())
                .setChunk(null).setHeartbeat(null).build();
    }

    private static ConflictingWrite describe(Write write, Command command) {
        return new ConflictingWrite(write.origin(), write.offset(), write.event().getPosition(), write.timeMillis(), command);
    }

    private static List<KeyId> keysOf(ChangeEvent event) {
        List<ByteBuffer> keys = event.getKeys();
        List<KeyId> ids = new ArrayList<>(keys.size());
        for (ByteBuffer key : keys) {
            byte[] bytes = bytes(key);
            if (!ReplicationPolicy.isReservedKey(bytes)) {
                ids.add(new KeyId(event.getDb(), bytes));
            }
        }
        return ids;
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return bytes;
    }

    @Override
    public void close() {
        try {
            requests.close();
        } catch (RuntimeException e) {
            LOG.debug("closing the repair request reader: {}", e.toString());
        }
        try {
            own.close();
        } catch (RuntimeException e) {
            LOG.debug("closing the own-writes reader: {}", e.toString());
        }
    }
}
