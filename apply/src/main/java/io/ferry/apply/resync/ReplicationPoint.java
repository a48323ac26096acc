package io.ferry.apply.resync;

import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where one master's replication stream stood ({@code INFO replication}): its replication id, the id it continued
 * from after a failover ({@code master_replid2}, valid for offsets below {@code secondOffset}) and its offset. This
 * instance's capture publishes that master's stream with positions stamped with the replication id it streams under,
 * so "the capture has published everything up to here" is a question per replication id.
 */
record ReplicationPoint(String replid, String replid2, long secondOffset, long offset) {

    private static final Pattern FIELD = Pattern.compile("^(master_replid2?|second_repl_offset|master_repl_offset):(\\S+)", Pattern.MULTILINE);

    /** The point an {@code INFO replication} text gives; throws IllegalArgumentException when it has no offset. */
    static ReplicationPoint parse(String info) {
        String replid = null;
        String replid2 = null;
        long second = -1;
        long offset = -1;
        Matcher m = FIELD.matcher(info.replace("\r", ""));
        while (m.find()) {
            switch (m.group(1)) {
                case "master_replid" -> replid = m.group(2);
                case "master_replid2" -> replid2 = m.group(2);
                case "second_repl_offset" -> second = Long.parseLong(m.group(2));
                default -> offset = Long.parseLong(m.group(2));
            }
        }
        if (replid == null || offset < 0) {
            throw new IllegalArgumentException("INFO replication names no master_replid and master_repl_offset");
        }
        return new ReplicationPoint(replid, replid2, second, offset);
    }

    /**
     * Whether a stream published up to {@code published} (highest source offset per replication id, -1 for none)
     * covers this point: under the current id, or under the previous one when the point lies before the switch.
     */
    boolean reachedBy(ToLongFunction<String> published) {
        if (published.applyAsLong(replid) >= offset) {
            return true;
        }
        return replid2 != null && offset < secondOffset && published.applyAsLong(replid2) >= offset;
    }

    @Override
    public String toString() {
        return replid + ":" + offset;
    }
}
