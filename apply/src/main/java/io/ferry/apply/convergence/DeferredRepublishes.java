package io.ferry.apply.convergence;

import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.Conflict;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Requests to re-publish a key that must wait until this instance has applied what the requester saw: a peer
 * that kept its copy of a key when reconciling this instance's resync snapshot (writes this instance had not
 * applied touched it) asks for this instance's value, which also holds this instance's gap writes, once it holds
 * those writes too. A request is due when
 * <ul>
 *   <li>this instance's own stream shows it applied at least the request's {@code after} vector, so the
 *       re-publication is causally after those writes everywhere, and</li>
 *   <li>the key is quiet: every peer partition has been applied here {@link #QUIET_MILLIS} further in its own stream
 *       time, since the request was taken in (for those {@code after} names, at least since the request was made)
 *       and since its last write to the key, without writing it again. A peer still writing the key would meet
 *       the re-publication as a concurrent whole-value write, settled by policy rather than kept; stream time, not
 *       this agent's clock, so that lag here (an agent catching up) never passes for quiet.</li>
 *   <li>no peer partition's snapshot was applied here within its last {@link #QUIET_MILLIS} of stream time: a
 *       resync snapshot holds its origin's gap writes to keys unknown, and its stream jumps past them in time.</li>
 * </ul>
 * A due key carries the source time of the newest write known to have made its value here (its requests' snapshot,
 * which bounds the gap writes, and the peers' writes to it applied while it waited): re-published with that time rather
 * than the current one, it loses, as the write it copies would, to a concurrent write made after that value.
 * Bounded by {@code maxKeys} keys; requests for one key are merged (the latest of each offset, one request per
 * requester). Pure, single-threaded: the apply loop's.
 */
final class DeferredRepublishes {

    /** Quiet needed, in the writers' stream time: a client pausing longer and then writing the key again races the re-publication. */
    static final long QUIET_MILLIS = 2_000;
    /** A request waiting longer than this is reported (once): is this instance's apply agent far behind? */
    static final long OVERDUE_NANOS = 60_000_000_000L;
    /** How often the waiting requests are checked against what this instance has applied. */
    private static final long CHECK_NANOS = 100_000_000L;

    /** A key that may be re-published now, with the requests it answers and the newest source time of its value's writes. */
    record Due(KeyId key, List<Conflict> requests, long valueMillis) {
    }

    private static final class Waiting {
        AppliedVector after;
        final long since;
        /** Per peer partition ({@code origin:partition}), the source time of its last write to the key seen here. */
        final Map<String, Long> lastWrites = new HashMap<>();
        /** Source time of the newest write known to be in the key's value here (lastWrites holds bounds, not writes). */
        long valueMillis;
        boolean overdue;
        final List<Conflict> requests = new ArrayList<>(1);

        Waiting(AppliedVector after, long since) {
            this.after = after;
            this.since = since;
        }
    }

    private final int maxKeys;
    private final Map<KeyId, Waiting> waiting = new LinkedHashMap<>();
    /** Per peer partition, the newest source time of its events applied here (heartbeats included). */
    private final Map<String, Long> streamTimes = new HashMap<>();
    /** Per peer partition, the source time of the last snapshot record of it applied here. */
    private final Map<String, Long> snapshots = new HashMap<>();
    private long nextCheck;

    DeferredRepublishes(int maxKeys) {
        this.maxKeys = maxKeys;
    }

    /**
     * Queues {@code request} for {@code key}, made at {@code requestMillis} about a snapshot made at {@code snapshotMillis};
     * false when {@code maxKeys} other keys already wait (it is refused).
     */
    boolean offer(KeyId key, AppliedVector after, Conflict request, long requestMillis, long snapshotMillis, long now) {
        Waiting w = waiting.get(key);
        if (w == null) {
            if (waiting.size() >= maxKeys) {
                return false;
            }
            waiting.put(key, w = new Waiting(after, now));
        } else {
            w.after = w.after.withAll(after);
        }
        w.valueMillis = Math.max(w.valueMillis, snapshotMillis);
        // Which of the writes already applied here touched the key is not known: every peer partition counts as
        // writing it up to where its stream is now, and those the request names at least until the request was made.
        Map<String, Long> lastWrites = w.lastWrites;
        streamTimes.forEach((entry, reached) -> lastWrites.merge(entry, reached, Math::max));
        for (String entry : after.asMap().keySet()) {
            lastWrites.merge(entry, requestMillis, Math::max);
        }
        w.requests.removeIf(held -> held.getApplier().equals(request.getApplier())); // one per requester: the latest
        w.requests.add(request);
        nextCheck = now; // it may be due already
        return true;
    }

    /** A write to {@code key} from peer partition {@code entry}, made at {@code sourceMillis}, is being applied here. */
    void peerWrote(KeyId key, String entry, long sourceMillis) {
        Waiting w = waiting.get(key);
        if (w != null) {
            w.lastWrites.merge(entry, sourceMillis, Math::max);
            w.valueMillis = Math.max(w.valueMillis, sourceMillis);
        }
    }

    /**
     * A snapshot record of peer partition {@code entry}, made at {@code sourceMillis}, is applied here: it counts as
     * a write to every key (which ones its origin wrote in a gap is unknown).
     */
    void snapshotApplied(String entry, long sourceMillis) {
        snapshots.merge(entry, sourceMillis, Math::max);
    }

    /** Events of peer partition {@code entry} up to source time {@code sourceMillis} are applied here. */
    void streamReached(String entry, long sourceMillis) {
        streamTimes.merge(entry, sourceMillis, Math::max);
    }

    /** The requests that are due now ({@code applied}: what this instance's own stream shows it applied), removed. */
    List<Due> due(AppliedVector applied, long now) {
        if (waiting.isEmpty() || now - nextCheck < 0) {
            return List.of();
        }
        nextCheck = now + CHECK_NANOS;
        if (!quiet(snapshots, streamTimes)) {
            return List.of();
        }
        List<Due> due = new ArrayList<>(0);
        for (Iterator<Map.Entry<KeyId, Waiting>> it = waiting.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<KeyId, Waiting> entry = it.next();
            Waiting w = entry.getValue();
            if (isDue(applied, w.after, w.lastWrites, streamTimes)) {
                due.add(new Due(entry.getKey(), w.requests, w.valueMillis));
                it.remove();
            }
        }
        return due;
    }

    /**
     * The deferral condition: every write the requester saw is applied here, and each peer partition's stream as
     * applied here has gone {@link #QUIET_MILLIS} past its last write to the key.
     */
    static boolean isDue(AppliedVector applied, AppliedVector after, Map<String, Long> lastWrites, Map<String, Long> streamTimes) {
        return applied.covers(after) && quiet(lastWrites, streamTimes);
    }

    /** Whether each peer partition's stream as applied here went {@link #QUIET_MILLIS} past its time in {@code lastWrites}. */
    private static boolean quiet(Map<String, Long> lastWrites, Map<String, Long> streamTimes) {
        for (Map.Entry<String, Long> last : lastWrites.entrySet()) {
            Long reached = streamTimes.get(last.getKey());
            if (reached == null || reached - last.getValue() < QUIET_MILLIS) {
                return false;
            }
        }
        return true;
    }

    /** How many waiting requests passed {@link #OVERDUE_NANOS} since the last call (each is counted once). */
    int newlyOverdue(long now) {
        int count = 0;
        for (Waiting w : waiting.values()) {
            if (!w.overdue && now - w.since > OVERDUE_NANOS) {
                w.overdue = true;
                count++;
            }
        }
        return count;
    }

    boolean isEmpty() {
        return waiting.isEmpty();
    }

    int size() {
        return waiting.size();
    }
}
