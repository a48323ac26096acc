package io.ferry.capture.position;

/**
 * What the capture reads from its source's INFO: the replication history it is on, how far it has
 * written, how much of it the replication backlog keeps, and how many keys it holds.
 *
 * @param replid      {@code master_replid}
 * @param replid2     {@code master_replid2}: the history it continued after a failover ("000…" when none)
 * @param offset      {@code master_repl_offset}, -1 when missing
 * @param backlogSize {@code repl_backlog_size} in bytes, -1 when missing
 * @param keys        keys over every db (INFO keyspace), Ferry's own {@code __ferry:} keys included; -1 when unknown
 */
public record SourceInfo(String replid, String replid2, long offset, long backlogSize, long keys) {

    /** Reads {@code INFO replication} and {@code INFO keyspace} replies (either may be null). */
    public static SourceInfo parse(String replication, String keyspace) {
        String replid = null;
        String replid2 = null;
        long offset = -1;
        long backlog = -1;
        if (replication != null) {
            for (String line : replication.split("\r?\n")) {
                if (line.startsWith("master_replid:")) {
                    replid = value(line);
                } else if (line.startsWith("master_replid2:")) {
                    replid2 = value(line);
                } else if (line.startsWith("master_repl_offset:")) {
                    offset = number(value(line));
                } else if (line.startsWith("repl_backlog_size:")) {
                    backlog = number(value(line));
                }
            }
        }
        return new SourceInfo(replid, replid2, offset, backlog, keyspace == null ? -1 : keys(keyspace));
    }

    /** Sum of {@code keys=N} over the {@code dbN:keys=…,expires=…} lines; 0 for an empty keyspace section. */
    static long keys(String keyspace) {
        long total = 0;
        for (String line : keyspace.split("\r?\n")) {
            if (!line.startsWith("db")) {
                continue;
            }
            int start = line.indexOf("keys=");
            if (start < 0) {
                continue;
            }
            int end = line.indexOf(',', start);
            long n = number(line.substring(start + 5, end < 0 ? line.length() : end));
            if (n > 0) {
                total += n;
            }
        }
        return total;
    }

    /** Whether a PSYNC of {@code replid} could continue here: the source is on that history or continued it. */
    public boolean continues(String history) {
        return history != null && (history.equals(replid) || history.equals(replid2));
    }

    private static String value(String line) {
        return line.substring(line.indexOf(':') + 1).trim();
    }

    private static long number(String text) {
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
