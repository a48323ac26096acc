package io.ferry.apply.convergence;

import io.ferry.schemas.AppliedVector;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The recent writes conflict detection needs, per key, on one instance ({@code self}): the local writes
 * (until every peer has applied them) and the peers' writes applied here (until a local write shows this
 * instance's own stream has passed them). Every local write a peer's write had not seen is paired with
 * it, not only the last: an earlier one may clash where the last one commutes (ZADD m1 then ZADD m2 here
 * against ZINCRBY m1 there). A pair is concurrent iff neither origin had applied
 * the other when it wrote; this class finds every such pair whichever of the two this agent learns of
 * last: a peer's write before it is applied ({@link #remote}), or a local write when it is read back from
 * the own changes topic ({@link #local}). Bounded by {@code maxKeys} keys and about {@code maxBytes} of
 * retained writes, and {@link #MAX_WRITES_PER_KEY} local and as many peer writes per key (least recently written keys and a
 * key's oldest writes are forgotten first, and counted; keys holding a re-publication after a resync last: a write
 * concurrent with such a copy that finds no pair is replaced by it unseen, and the copy then loses that write
 * everywhere).
 * Single-threaded.
 */
public final class WriteHistory {

    /** A concurrent pair on {@code key}. {@code beforeApply}: found before the remote write was applied here. */
    public record Pair(KeyId key, Write remote, Write local, boolean beforeApply) {
    }

    /** Local writes, and peer writes, kept per key while they can still be part of a pair. */
    static final int MAX_WRITES_PER_KEY = 4096;
    /** Keys that lost writes to {@link #MAX_WRITES_PER_KEY} remembered at once until they are re-published. */
    static final int MAX_OVERFLOWED_KEYS = 100_000;
    public static final long DEFAULT_MAX_BYTES = 64L * 1024 * 1024;

    private static final class KeyWrites {
        /** In this instance's stream order. */
        final List<Write> locals = new ArrayList<>(1);
        final List<Write> applied = new ArrayList<>(2);
        long bytes;
        /** Re-publications among the writes held. */
        int republications;
        /** Whether the local writes held came from more than one partition of this instance's topic (their offsets are unrelated). */
        boolean mixedPartitions;
    }

    private final String self;
    private final int maxKeys;
    private final long maxBytes;
    private long bytes;
    /** In access order: when the window is full, the key written or read longest ago is forgotten first. */
    private final LinkedHashMap<KeyId, KeyWrites> keys = new LinkedHashMap<>(1024, 0.75f, true);
    /**
     * Per peer, the highest offset it has applied of each partition of this instance's topic (one per shard
     * of a Redis Cluster; offsets of different partitions are unrelated), as its events say; -1: none yet.
     */
    private final Map<String, long[]> peerAcks = new HashMap<>();
    /** Partitions of this instance's topic its local writes came from so far (0 up to this, exclusive). */
    private int ownPartitions = 1;
    private AppliedVector ownProgress = AppliedVector.EMPTY;
    private long evicted;
    /**
     * Keys that forgot writes to {@link #MAX_WRITES_PER_KEY} (a peer or this instance's own stream far behind on a
     * hot key), with what they saw since. A pair is found when its second write is learned, so a pair is missed only
     * between a forgotten write and one learned after it; see {@link Overflow#due}. Those keys are re-published from
     * here once nothing of them is pending any more (see {@link #takeDrainedOverflows}).
     */
    private final Map<KeyId, Overflow> overflowed = new LinkedHashMap<>();

    /** What a key that forgot writes has seen since its first forgotten write. */
    private static final class Overflow {
        /** A local write was forgotten or learned since: a missed pair can have a local side. */
        boolean wrote;
        /** A write forgotten or learned since is not a plain counter (INCR, DECR, ...): a missed pair may not commute. */
        boolean clashes;

        void saw(Write write, byte[] key, boolean local) {
            wrote |= local;
            clashes |= !write.counting(key);
        }

        /**
         * Whether a pair that needed a repair from here can have been missed: one with a local side (a key only peers
         * wrote has none here, and a copy of it could only lose their concurrent partial writes) that does not commute
         * (a copy racing a concurrent INCR would lose it, where the INCRs alone add up everywhere).
         */
        boolean due() {
            return wrote && clashes;
        }
    }
    private long overflowedNotKept;

    public WriteHistory(String self, int maxKeys, Iterable<String> peers) {
        this(self, maxKeys, DEFAULT_MAX_BYTES, peers);
    }

    public WriteHistory(String self, int maxKeys, long maxBytes, Iterable<String> peers) {
        this.self = self;
        this.maxKeys = maxKeys;
        this.maxBytes = maxBytes;
        peers.forEach(peer -> peerAcks.put(peer, new long[] {-1}));
    }

    /** A peer's write about to be applied here: local writes to its keys its origin had not applied. */
    public List<Pair> remote(Write write, List<KeyId> touched) {
        List<Pair> pairs = new ArrayList<>(0);
        for (KeyId key : touched) {
            KeyWrites writes = writesOf(key);
            if (holds(writes, write)) {
                continue; // read again after a reconnect: already judged
            }
            List<Write> locals = writes.locals;
            int first = 0;
            if (!writes.mixedPartitions && !locals.isEmpty()) {
                // one partition: offsets grow along the list, so the writes the peer had not applied are a tail of it
                long seen = write.applied().applied(self, locals.get(0).partition());
                first = locals.size();
                while (first > 0 && locals.get(first - 1).offset() > seen) {
                    first--;
                }
            }
            for (int i = first; i < locals.size(); i++) {
                Write local = locals.get(i);
                if (local.offset() > write.applied().applied(self, local.partition())) {
                    pairs.add(new Pair(key, write, local, true));
                }
            }
            add(key, writes, writes.applied, write);
        }
        trim();
        return pairs;
    }

    /**
     * A peer's write this instance had applied before this agent started, read again so that local writes
     * read back later (or already) can still be paired with it: concurrent iff each origin had not applied
     * the other.
     */
    public List<Pair> replayed(Write write, List<KeyId> touched) {
        List<Pair> pairs = new ArrayList<>(0);
        for (KeyId key : touched) {
            KeyWrites writes = writesOf(key);
            if (holds(writes, write)) {
                continue;
            }
            for (Write local : writes.locals) {
                if (local.applied().applied(write.origin(), write.partition()) < write.offset()
                        && write.applied().applied(self, local.partition()) < local.offset()) {
                    pairs.add(new Pair(key, write, local, false));
                }
            }
            add(key, writes, writes.applied, write);
        }
        trim();
        return pairs;
    }

    /** A local write read back from the own changes topic: peers' writes applied here after it, whose origin had not seen it. */
    public List<Pair> local(Write write, List<KeyId> touched) {
        ownPartitions = Math.max(ownPartitions, write.partition() + 1);
        List<Pair> pairs = new ArrayList<>(0);
        for (KeyId key : touched) {
            KeyWrites writes = writesOf(key);
            for (Iterator<Write> it = writes.applied.iterator(); it.hasNext(); ) {
                Write applied = it.next();
                boolean appliedAfter = applied.offset() > write.applied().applied(applied.origin(), applied.partition());
                if (appliedAfter && applied.applied().applied(self, write.partition()) < write.offset()) {
                    pairs.add(new Pair(key, applied, write, false));
                }
                if (!appliedAfter) {
                    it.remove(); // this local write had seen it, and so will every later one
                    release(writes, applied);
                }
            }
            add(key, writes, writes.locals, write);
        }
        trim();
        return pairs;
    }

    /** Last peer write applied to {@code key} that this instance's own stream has not passed yet, or null. */
    public Write lastApplied(KeyId key) {
        KeyWrites writes = keys.get(key);
        return writes == null || writes.applied.isEmpty() ? null : writes.applied.get(writes.applied.size() - 1);
    }

    /** Last local write to {@code key} that some peer may not have applied yet, or null. */
    public Write lastLocal(KeyId key) {
        KeyWrites writes = keys.get(key);
        return writes == null || writes.locals.isEmpty() ? null : writes.locals.get(writes.locals.size() - 1);
    }

    /** A peer's event says it had applied this instance's partitions as far as {@code vector} says. */
    public void peerApplied(String peer, AppliedVector vector) {
        long[] acks = peerAcks.get(peer);
        if (acks == null || acks.length < ownPartitions) {
            long[] grown = new long[ownPartitions];
            Arrays.fill(grown, -1);
            if (acks != null) {
                System.arraycopy(acks, 0, grown, 0, acks.length);
            }
            peerAcks.put(peer, acks = grown);
        }
        for (int partition = 0; partition < acks.length; partition++) {
            acks[partition] = Math.max(acks[partition], vector.applied(self, partition));
        }
    }

    /** Whether every peer has applied {@code local} (then no later peer write can be concurrent with it). */
    private boolean appliedByEveryPeer(Write local) {
        for (long[] acks : peerAcks.values()) {
            if (local.partition() >= acks.length || acks[local.partition()] < local.offset()) {
                return false;
            }
        }
        return true;
    }

    /** This instance's own stream (a heartbeat or event read back) had applied what {@code vector} says. */
    public void ownProgress(AppliedVector vector) {
        ownProgress = vector;
    }

    /** What this instance's own stream last showed it had applied (empty until a record of it was read). */
    public AppliedVector ownProgress() {
        return ownProgress;
    }

    /** Forgets what can no longer be part of a concurrent pair. */
    public void sweep() {
        for (Iterator<KeyWrites> it = keys.values().iterator(); it.hasNext(); ) {
            KeyWrites writes = it.next();
            for (Iterator<Write> applied = writes.applied.iterator(); applied.hasNext(); ) {
                Write w = applied.next();
                if (w.offset() <= ownProgress.applied(w.origin(), w.partition())) {
                    applied.remove();
                    release(writes, w);
                }
            }
            for (Iterator<Write> local = writes.locals.iterator(); local.hasNext(); ) {
                Write w = local.next();
                if (appliedByEveryPeer(w)) {
                    local.remove();
                    release(writes, w);
                }
            }
            writes.mixedPartitions &= !writes.locals.isEmpty();
            if (writes.locals.isEmpty() && writes.applied.isEmpty()) {
                bytes -= writes.bytes;
                it.remove();
            }
        }
    }

    public int size() {
        return keys.size();
    }

    /** Writes forgotten because the window was full (a key or a key's oldest writes), since the last call. */
    public long takeEvicted() {
        long n = evicted;
        evicted = 0;
        return n;
    }

    /** Bytes of retained writes (approximate, a write shared by several keys counts once per key). */
    public long bytes() {
        return bytes;
    }

    private KeyWrites writesOf(KeyId key) {
        return keys.computeIfAbsent(key, k -> new KeyWrites());
    }

    /**
     * Whether {@code write} was judged here already: a peer partition's writes arrive in offset order, so the latest one
     * held of its partition tells (looked up from the newest end, where it usually is).
     */
    private static boolean holds(KeyWrites writes, Write write) {
        List<Write> applied = writes.applied;
        for (int i = applied.size() - 1; i >= 0; i--) {
            Write held = applied.get(i);
            if (held.partition() == write.partition() && held.origin().equals(write.origin())) {
                return held.offset() >= write.offset();
            }
        }
        return false;
    }

    private void add(KeyId key, KeyWrites writes, List<Write> list, Write write) {
        Overflow overflow = overflowed.get(key);
        if (overflow != null) {
            overflow.saw(write, key.key(), list == writes.locals);
        }
        if (list == writes.locals && !list.isEmpty() && list.get(0).partition() != write.partition()) {
            writes.mixedPartitions = true;
        }
        list.add(write);
        hold(writes, write);
        if (list.size() > MAX_WRITES_PER_KEY) {
            Write forgotten = list.remove(0);
            release(writes, forgotten);
            evicted++;
            if (overflow == null && overflowed.size() < MAX_OVERFLOWED_KEYS) {
                overflowed.put(key, overflow = new Overflow());
            }
            if (overflow != null) {
                overflow.saw(forgotten, key.key(), list == writes.locals);
            } else {
                overflowedNotKept++;
            }
        }
    }

    /**
     * Keys that forgot writes to the per-key bound, may have missed a pair this instance had to repair, and have
     * nothing pending here any more (every
     * peer has applied their local writes, this instance's own stream has passed their peers' writes), each returned
     * once: a copy of
     * the value re-published now is applied everywhere after every write this instance has seen, so a pair missed
     * here cannot leave the instances different.
     */
    public List<KeyId> takeDrainedOverflows() {
        List<KeyId> drained = new ArrayList<>(0);
        for (Iterator<Map.Entry<KeyId, Overflow>> it = overflowed.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<KeyId, Overflow> entry = it.next();
            if (!keys.containsKey(entry.getKey())) { // containsKey leaves the access order as it is
                if (entry.getValue().due()) {
                    drained.add(entry.getKey());
                }
                it.remove();
            }
        }
        return drained;
    }

    /** Keys that overflowed but could not be remembered for re-publication since the last call. */
    public long takeOverflowsNotKept() {
        long n = overflowedNotKept;
        overflowedNotKept = 0;
        return n;
    }

    private void hold(KeyWrites writes, Write write) {
        writes.bytes += write.bytes();
        bytes += write.bytes();
        writes.republications += write.republished() ? 1 : 0;
    }

    private void release(KeyWrites writes, Write write) {
        writes.bytes -= write.bytes();
        bytes -= write.bytes();
        writes.republications -= write.republished() ? 1 : 0;
    }

    private boolean over() {
        return keys.size() > maxKeys || bytes > maxBytes;
    }

    /**
     * Forgets the least recently written keys while over the bounds (the key just written stays); keys holding a
     * re-publication only when forgetting every other key was not enough. Those passed over become the most
     * recently used, so the next trim does not walk them again.
     */
    private void trim() {
        if (!over()) {
            return;
        }
        List<KeyId> passedOver = new ArrayList<>(0);
        for (boolean sparing = true; over(); sparing = false) {
            int left = keys.size() - 1; // the last entry is the key just written
            for (Iterator<Map.Entry<KeyId, KeyWrites>> eldest = keys.entrySet().iterator(); over() && left > 0; left--) {
                Map.Entry<KeyId, KeyWrites> entry = eldest.next();
                KeyWrites writes = entry.getValue();
                if (sparing && writes.republications > 0) {
                    passedOver.add(entry.getKey());
                    continue;
                }
                bytes -= writes.bytes;
                eldest.remove();
                evicted += Math.max(1, writes.locals.size() + writes.applied.size());
            }
            if (!sparing || keys.size() <= 1) {
                break;
            }
        }
        passedOver.forEach(keys::get); // access order: now among the most recently used (those evicted are gone)
    }
}
