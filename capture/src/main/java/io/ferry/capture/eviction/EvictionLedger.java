package io.ferry.capture.eviction;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Eviction notifications waiting for the DEL Redis propagated with each, placed on the replication
 * offsets by the rounds of {@link EvictionWatch}.
 *
 * <p>A round asks ROLE (the source's offset M) on one connection, then PINGs the subscribed connection
 * and collects what arrives before the PONG. A notification collected in round k was emitted after
 * round k-1's PING and before round k's, so its DEL starts after M(k-1) and ends at or before M(k+1):
 * that is its window. A DEL consumes the oldest notification of its key whose window holds it.
 *
 * <p>Errors can only go one way. When a user's DEL, a re-creation and an eviction of the same key all
 * fall in one window, the user's DEL is the one taken as the eviction and the eviction DEL is published:
 * the peers still end without the key, as the source does. A notification whose window the stream has
 * passed without consuming it is dropped, so it can never hide a later user DEL.
 */
public final class EvictionLedger {

    /** One {@code evicted} keyspace event. */
    public record Notice(int db, byte[] key) {
    }

    private static final class Pending {
        final Key key;
        final long after;
        long until = Long.MAX_VALUE;
        boolean settled;

        Pending(Key key, long after) {
            this.key = key;
            this.after = after;
        }
    }

    /** A db and key usable as a hash key. */
    private record Key(int db, byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && db == k.db && Arrays.equals(bytes, k.bytes);
        }

        @Override
        public int hashCode() {
            return 31 * db + Arrays.hashCode(bytes);
        }
    }

    // in arrival order, so windows end in non-decreasing order: the stream passes them from the head
    /** About 150 MB of notifications at most, for a capture far behind a source evicting heavily. */
    static final int MAX_PENDING = 1_000_000;

    private final Deque<Pending> arrivals = new ArrayDeque<>();
    private final Map<Key, Deque<Pending>> byKey = new HashMap<>();
    private final List<Pending> lastRound = new ArrayList<>();
    private long previousRole = -1;
    private int size;
    private long dropped;

    /**
     * Records a completed round: the source's offset as ROLE reported it, and the notifications that
     * arrived before this round's PONG. The first call, with the offset read before subscribing and no
     * notifications, only sets where the first window starts.
     */
    public synchronized void round(long roleOffset, List<Notice> notices) {
        for (Pending p : lastRound) {
            p.until = roleOffset;
        }
        lastRound.clear();
        for (Notice n : notices) {
            if (size >= MAX_PENDING) {
                dropOldest(); // memory stays bounded; that eviction's DEL is then published
            }
            Pending p = new Pending(new Key(n.db(), n.key()), previousRole);
            arrivals.addLast(p);
            byKey.computeIfAbsent(p.key, k -> new ArrayDeque<>()).addLast(p);
            lastRound.add(p);
            size++;
        }
        previousRole = roleOffset;
    }

    /**
     * Whether the single-key DEL/UNLINK of {@code key} in {@code db}, occupying replication offsets
     * {@code startOffset..endOffset}, is an eviction; consumes its notification.
     */
    public synchronized boolean consume(int db, byte[] key, long startOffset, long endOffset) {
        dropPassed(startOffset);
        Key k = new Key(db, key);
        Deque<Pending> candidates = byKey.get(k);
        if (candidates == null) {
            return false;
        }
        for (Iterator<Pending> it = candidates.iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (p.after < startOffset && endOffset <= p.until) {
                it.remove();
                settle(p, candidates);
                return true;
            }
        }
        return false;
    }

    private void dropOldest() {
        while (!arrivals.isEmpty()) {
            if (dropFirst()) {
                return;
            }
        }
    }

    /** Drops notifications whose DEL is behind {@code offset} (in a block, or filtered as an expiry). */
    private void dropPassed(long offset) {
        while (!arrivals.isEmpty() && (arrivals.peekFirst().settled || arrivals.peekFirst().until < offset)) {
            dropFirst();
        }
    }

    /** Removes the oldest arrival; true when it was still pending (and is now dropped). */
    private boolean dropFirst() {
        Pending p = arrivals.removeFirst();
        if (p.settled) {
            return false;
        }
        Deque<Pending> same = byKey.get(p.key);
        same.remove(p);
        settle(p, same);
        dropped++;
        return true;
    }

    private void settle(Pending p, Deque<Pending> same) {
        p.settled = true;
        size--;
        if (same.isEmpty()) {
            byKey.remove(p.key);
        }
    }

    public synchronized int size() {
        return size;
    }

    /** Notifications dropped because the stream passed their window without a matching DEL. */
    public synchronized long dropped() {
        return dropped;
    }

    /** Forgets everything: a new subscription starts from its own ROLE offset. */
    public synchronized void clear() {
        arrivals.clear();
        byKey.clear();
        lastRound.clear();
        size = 0;
        previousRole = -1;
    }
}
