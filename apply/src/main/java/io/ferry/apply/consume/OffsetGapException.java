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
                + "; or, to accept the gap and apply what Kafka still holds, DEL that checkpoint key and restart"
                + " (the agent then starts at the beginning of the topic). Raise the topic's retention.ms to avoid this.";
    }
}
