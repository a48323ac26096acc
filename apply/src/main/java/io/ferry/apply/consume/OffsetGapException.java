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
        return " To recover, stop this apply agent and " + self + "'s capture and re-seed " + self + " from a live peer: "
                + "ferry join --config <mesh.yaml> --instance " + self + " --from " + peer + " --replace-data"
                + " (it copies the peer's data and sets every checkpoint); or, to accept the gap and apply what Kafka still"
                + " holds, SET __ferry:ckpt:" + peer + ":" + partition + " to the topic's first offset - 1 and restart. Raise kafka.retentionHours (the topic's retention.ms) to avoid this.";
    }

    /** What to do when an instance with no checkpoint meets a topic that no longer starts at offset 0. */
    static String noCheckpointRecovery(String self, String peer, int partition, long start) {
        return " To recover, stop " + self + "'s capture too and re-seed " + self + " from a live peer: ferry join --config"
                + " <mesh.yaml> --instance " + self + " --from " + peer + " --replace-data (it copies the peer's data and sets every"
                + " checkpoint); or, to apply only what Kafka still holds, knowing " + self
                + " then lacks what the deleted records wrote: SET __ferry:ckpt:" + peer + ":" + partition + " " + (start - 1)
                + " in " + self + "'s Redis. Then restart this apply agent. An instance down longer than the topics'"
                + " retention (kafka.retentionHours) must re-join.";
    }
}
