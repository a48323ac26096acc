package io.ferry.cli.lifecycle;

import io.ferry.schemas.EventKind;
import java.util.OptionalLong;

/**
 * Finds where a peer's copy stands in the peer's own changes topic: the copy (an RDB taken by
 * {@code PSYNC ? -1}) holds every write of the peer's stream up to replication offset {@code copyOffset}
 * of history {@code replid}; the apply checkpoint matching it is the Kafka offset of the last record at or
 * below that position. Fed the topic's records in order from a point before the copy; pure.
 *
 * <p>Decided by the first record past the copy (its Kafka offset - 1), or by a heartbeat exactly at the
 * copy's position: the capture sends a heartbeat with the position of everything it has handed on, so
 * nothing at or below it can follow.
 */
final class CopyPointMatcher {

    private final String replid;
    private final long copyOffset;
    private boolean seenHistory;

    CopyPointMatcher(String replid, long copyOffset) {
        this.replid = replid;
        this.copyOffset = copyOffset;
    }

    /**
     * Whether a record lies at or before the copy: a scan may start at it. A record of another replication
     * history counts as earlier (the peer's history before a failover or restart).
     */
    boolean atOrBefore(String recordReplid, long sourceOffset) {
        return !replid.equals(recordReplid) || sourceOffset <= copyOffset;
    }

    /**
     * One record of the topic; returns the checkpoint once decided.
     *
     * @throws IllegalStateException when the peer's capture moved to another replication history after the copy
     */
    OptionalLong next(long kafkaOffset, EventKind kind, String recordReplid, long sourceOffset) {
        if (!replid.equals(recordReplid)) {
            if (seenHistory) {
                throw new IllegalStateException("the peer's capture moved from replication history " + replid + " to "
                        + recordReplid + " at Kafka offset " + kafkaOffset + " (a failover or a full resync of the peer)"
                        + " while the copy was taken; run the join again");
            }
            return OptionalLong.empty(); // an earlier history, before the copy
        }
        seenHistory = true;
        if (sourceOffset > copyOffset) {
            return OptionalLong.of(kafkaOffset - 1);
        }
        if (sourceOffset == copyOffset && kind == EventKind.HEARTBEAT) {
            return OptionalLong.of(kafkaOffset);
        }
        return OptionalLong.empty();
    }
}
