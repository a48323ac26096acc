package io.ferry.apply.convergence;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Peer writes that lost a conflict here and were therefore not applied, so that what this instance's copy of a key
 * holds can be told write by write (a key rebuilt after a peer's full resync runs again only what took effect here).
 * Known from the first write this agent judged (or read again after a restart) of each peer partition on: earlier
 * ones, those read again that may have been left out, and those past the bound are unknown.
 */
final class SkippedWrites {

    /** What became of a peer's write here. */
    enum Outcome {
        APPLIED,
        SKIPPED,
        UNKNOWN
    }

    private final int capacity;
    /** Per peer partition entry, the first offset from which every write's outcome is known. */
    private final Map<String, Long> knownFrom = new HashMap<>();
    /** Writes left out here, or (UNKNOWN) read again after a restart and perhaps left out then; by {@code entry@offset}. */
    private final LinkedHashMap<String, Outcome> notApplied;

    SkippedWrites(int capacity) {
        this.capacity = capacity;
        this.notApplied = new LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Outcome> eldest) {
                if (size() <= SkippedWrites.this.capacity) {
                    return false;
                }
                int at = eldest.getKey().lastIndexOf('@');
                long offset = Long.parseLong(eldest.getKey().substring(at + 1));
                knownFrom.merge(eldest.getKey().substring(0, at), offset + 1, Math::max); // forgotten: unknown from now on
                return true;
            }
        };
    }

    /** The write at {@code offset} of {@code entry} was judged here with this outcome. */
    void judged(String entry, long offset, Outcome outcome) {
        knownFrom.putIfAbsent(entry, offset);
        if (outcome != Outcome.APPLIED) {
            notApplied.put(entry + "@" + offset, outcome);
        }
    }

    /** What became of the write at {@code offset} of {@code entry} here. */
    Outcome outcome(String entry, long offset) {
        Long from = knownFrom.get(entry);
        if (from == null || offset < from) {
            return Outcome.UNKNOWN;
        }
        return notApplied.getOrDefault(entry + "@" + offset, Outcome.APPLIED);
    }
}
