package io.ferry.capture.wipe;

import io.ferry.capture.position.SourceInfo;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How many keys the source held, per replication history: sampled from INFO keyspace, written with each
 * committed position (header {@code ferry.source.keys}) and restored from it, so that after a full resync
 * under a new replication id the wipe guard knows what the source had before. Ferry's own
 * {@code __ferry:} keys (the apply agent's checkpoints, one per applied peer partition) are left out.
 * Thread-safe: the INFO poller samples, the Kafka writer commits, the reader checks.
 */
public final class SourceKeys {

    /** Histories remembered: the current one and the few before it. */
    private static final int HISTORIES = 4;

    private final Map<String, Long> known = new LinkedHashMap<>(8, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > HISTORIES;
        }
    };
    private String sampledReplid;
    private long sampledKeys = -1;

    /** An INFO reading of the source. */
    public synchronized void sample(SourceInfo info) {
        if (info.replid() != null && info.keys() >= 0) {
            sampledReplid = info.replid();
            sampledKeys = info.keys();
        }
    }

    /** What the committed position found at start carried (-1: nothing, a record of an earlier release). */
    public synchronized void restore(String replid, long keys) {
        if (replid != null && keys >= 0) {
            known.put(replid, keys);
        }
    }

    /** A full resync's copy held {@code keys} (reserved keys left out). */
    public synchronized void copied(String replid, long keys) {
        known.put(replid, keys);
    }

    /**
     * The count to store with a position on history {@code replid} whose applied vector has
     * {@code checkpoints} entries: the latest reading of that history less the checkpoint keys, else what
     * was known before; -1 when nothing is known.
     */
    public synchronized long forPosition(String replid, int checkpoints) {
        if (replid == null) {
            return -1;
        }
        if (replid.equals(sampledReplid)) {
            known.put(replid, Math.max(0, sampledKeys - checkpoints));
        }
        Long keys = known.get(replid);
        return keys == null ? -1 : keys;
    }

    /** The last count known for history {@code replid}, -1 when none. */
    public synchronized long known(String replid) {
        Long keys = replid == null ? null : known.get(replid);
        return keys == null ? -1 : keys;
    }

    /** The latest INFO reading's key count (reserved keys included), -1 before the first. */
    public synchronized long sampled() {
        return sampledKeys;
    }
}
