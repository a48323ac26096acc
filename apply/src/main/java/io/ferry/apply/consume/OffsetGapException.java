package io.ferry.apply.consume;

/**
 * Kafka no longer holds the records this instance needs next (retention passed them, or the topic was
 * recreated). Applying would silently skip a peer's writes, so the agent stops; the message says how
 * to recover.
 */
public class OffsetGapException extends RuntimeException {

    public OffsetGapException(String message, Throwable cause) {
        super(message, cause);
    }

    static String recovery(String self, String peer, int partition) {
        return " To recover, re-seed instance '" + self + "' from peer '" + peer + "' (for example restore a copy of "
                + peer + "'s data into " + self + "), then set its checkpoint to the topic's current end: "
                + "SET __ferry:ckpt:" + peer + ":" + partition + " <end offset - 1> in " + self + "'s Redis"
                + "; or, to accept the gap and apply what Kafka still holds, SET that checkpoint key to the topic's"
                + " first offset - 1 and restart. Raise kafka.retentionHours (the topic's retention.ms) to avoid this.";
    }

    /** What to do when an instance with no checkpoint meets a topic that no longer starts at offset 0. */
    static String noCheckpointRecovery(String self, String peer, int partition, long start) {
        return " To recover, copy " + peer + "'s data into " + self + " (re-join it from a live peer; ferry join is not"
                + " available yet) and set the checkpoint to the topic's current end: SET __ferry:ckpt:" + peer + ":" + partition
                + " <end offset - 1> in " + self + "'s Redis; or, to apply only what Kafka still holds, knowing " + self
                + " then lacks what the deleted records wrote: SET __ferry:ckpt:" + peer + ":" + partition + " " + (start - 1)
                + " in " + self + "'s Redis. Then restart this apply agent. An instance down longer than the topics'"
                + " retention (kafka.retentionHours) must re-join.";
    }
}
