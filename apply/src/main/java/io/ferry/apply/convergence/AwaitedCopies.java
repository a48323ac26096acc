package io.ferry.apply.convergence;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Keys this instance kept when reconciling a peer's resync snapshot and asked that peer to re-publish: the peer's
 * copy holds its writes made while its capture was away, which the value here lacks. Until that copy arrives, no
 * copy of the key may leave here (a conflict repair or a re-publication of a key whose writes were forgotten): it
 * would spread the value without the peer's writes, and as a newer whole-value write it would win over the peer's
 * re-publication everywhere, losing them. Such repairs wait, at most {@code waitNanos} (then they run and are
 * counted, see {@link #takeExpired}). Bounded by {@code maxKeys}; a key beyond it is not held. In memory: an apply
 * agent restarted meanwhile no longer holds the key. Single-threaded: the apply loop's.
 */
final class AwaitedCopies {

    /** How long repairs of a key wait for its origin's copy (the origin waits for its own apply to catch up first). */
    static final long WAIT_NANOS = 300_000_000_000L;
    /** How often a held repair looks again. */
    static final long RECHECK_NANOS = 100_000_000L;

    private record Awaited(String origin, long deadlineNanos) {
    }

    private final int maxKeys;
    private final long waitNanos;
    private final Map<KeyId, Awaited> awaited = new LinkedHashMap<>();
    private int expired;

    AwaitedCopies(int maxKeys, long waitNanos) {
        this.maxKeys = maxKeys;
        this.waitNanos = waitNanos;
    }

    /** {@code origin} was asked to re-publish {@code key} at {@code now}. */
    void await(KeyId key, String origin, long now) {
        if (awaited.containsKey(key) || awaited.size() < maxKeys) {
            awaited.put(key, new Awaited(origin, now + waitNanos));
        }
    }

    /** A re-publication (or a repair marked as one) from {@code origin} of {@code keys} is applied here: their wait ends. */
    void arrived(String origin, List<KeyId> keys) {
        if (awaited.isEmpty()) {
            return;
        }
        for (KeyId key : keys) {
            Awaited a = awaited.get(key);
            if (a != null && a.origin().equals(origin)) {
                awaited.remove(key);
            }
        }
    }

    /** Whether copies of {@code key} must wait at {@code now}; a wait past its deadline ends here and is counted. */
    boolean holds(KeyId key, long now) {
        Awaited a = awaited.get(key);
        if (a == null) {
            return false;
        }
        if (now - a.deadlineNanos() < 0) {
            return true;
        }
        awaited.remove(key);
        expired++;
        return false;
    }

    /** Forgets the waits past their deadline that no repair asked about (they hold nothing any more). */
    void purge(long now) {
        awaited.values().removeIf(a -> now - a.deadlineNanos() >= 0);
    }

    /** Keys whose wait ended by its deadline since the last call. */
    int takeExpired() {
        int n = expired;
        expired = 0;
        return n;
    }

    int size() {
        return awaited.size();
    }
}
