package io.ferry.topology.conflicts.view;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The conflict table as JSON, what {@code ferry monitor} serves at {@code /conflicts}:
 * <pre>
 * {"mesh": "prod", "topic": "ferry.prod.conflicts.table", "instances": ["a", "b"], "notRead": [],
 *  "entries": {"open": 1, "reported": 0, "resolved": 4}, "matched": 1,
 *  "rows": [{"db": 0, "key": "user:1", "type": "VALUE", "open": 1, "dropped": 0, "updated": "…",
 *            "entries": [{"id": "a@17|b@42", "state": "open", "resolution": "REPAIR_FAILED", "policy": "lww",
 *                         "winner": "b", "replyOnly": false, "firstSeen": "…", "lastSeen": "…",
 *                         "writes": [{"origin": "a", "kafkaOffset": 17, "position": "…", "time": "…", "command": "SET"}, …],
 *                         "sightings": [{"applier": "a", "resolution": "SKIPPED", "winner": "b", "policy": "lww",
 *                                        "time": "…", "record": "ferry.a.conflicts-0@12"}, …]}]}]}
 * </pre>
 * Keys are escaped as {@link KeyText} does; times are ISO-8601 UTC.
 */
public final class ConflictTableJson {

    private ConflictTableJson() {
    }

    public static String render(String mesh, List<String> instances, List<String> notRead, ConflictTableView.Result result) {
        StringBuilder out = new StringBuilder(256 + result.rows().size() * 512);
        out.append("{\"mesh\":").append(string(mesh))
                .append(",\"topic\":").append(string(ConflictTableNames.tableTopic(mesh)))
                .append(",\"instances\":").append(strings(instances))
                .append(",\"notRead\":").append(strings(notRead))
                .append(",\"entries\":{");
        boolean first = true;
        for (Map.Entry<String, Long> count : result.entries().entrySet()) {
            out.append(first ? "" : ",").append(string(count.getKey())).append(':').append(count.getValue());
            first = false;
        }
        out.append("},\"matched\":").append(result.matched()).append(",\"rows\":[");
        for (int i = 0; i < result.rows().size(); i++) {
            row(out.append(i == 0 ? "" : ","), result.rows().get(i));
        }
        return out.append("]}\n").toString();
    }

    private static void row(StringBuilder out, ConflictTableRow row) {
        out.append("{\"db\":").append(row.getDb())
                .append(",\"key\":").append(string(KeyText.escape(row.getKey())))
                .append(",\"type\":").append(string(row.getType()))
                .append(",\"open\":").append(row.getOpen())
                .append(",\"dropped\":").append(row.getDropped())
                .append(",\"updated\":").append(time(row.getUpdatedMillis()))
                .append(",\"entries\":[");
        for (int i = 0; i < row.getEntries().size(); i++) {
            entry(out.append(i == 0 ? "" : ","), row.getEntries().get(i));
        }
        out.append("]}");
    }

    private static void entry(StringBuilder out, ConflictEntry entry) {
        out.append("{\"id\":").append(string(entry.getId()))
                .append(",\"state\":").append(string(entry.getState()))
                .append(",\"resolution\":").append(string(entry.getResolution()))
                .append(",\"policy\":").append(string(entry.getPolicy()))
                .append(",\"winner\":").append(string(entry.getWinner()))
                .append(",\"replyOnly\":").append(entry.getReplyOnly())
                .append(",\"firstSeen\":").append(time(entry.getFirstSeenMillis()))
                .append(",\"lastSeen\":").append(time(entry.getLastSeenMillis()))
                .append(",\"writes\":[");
        for (int i = 0; i < entry.getWrites().size(); i++) {
            ConflictWriteRef write = entry.getWrites().get(i);
            out.append(i == 0 ? "" : ",")
                    .append("{\"origin\":").append(string(write.getOrigin()))
                    .append(",\"kafkaOffset\":").append(write.getKafkaOffset())
                    .append(",\"position\":").append(string(write.getPosition()))
                    .append(",\"time\":").append(time(write.getTimeMillis()))
                    .append(",\"command\":").append(string(write.getCommand()))
                    .append('}');
        }
        out.append("],\"sightings\":[");
        for (int i = 0; i < entry.getSightings().size(); i++) {
            ConflictSighting sighting = entry.getSightings().get(i);
            out.append(i == 0 ? "" : ",")
                    .append("{\"applier\":").append(string(sighting.getApplier()))
                    .append(",\"resolution\":").append(string(sighting.getResolution()))
                    .append(",\"winner\":").append(string(sighting.getWinner()))
                    .append(",\"policy\":").append(string(sighting.getPolicy()))
                    .append(",\"time\":").append(time(sighting.getTimeMillis()))
                    .append(",\"record\":").append(string(sighting.getTopic() + "-" + sighting.getPartition() + "@" + sighting.getOffset()))
                    .append('}');
        }
        out.append("]}");
    }

    private static String time(long millis) {
        return string(Instant.ofEpochMilli(millis).toString());
    }

    private static String strings(List<String> values) {
        StringBuilder out = new StringBuilder("[");
        for (int i = 0; i < values.size(); i++) {
            out.append(i == 0 ? "" : ",").append(string(values.get(i)));
        }
        return out.append(']').toString();
    }

    /** A JSON string literal (or null): quotes, backslashes and control characters escaped. */
    static String string(String value) {
        if (value == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder(value.length() + 2).append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
