package io.ferry.cli.status;

import io.ferry.cli.inspect.ByteText;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.ConflictingWrite;
import io.ferry.topology.conflicts.view.ConflictEntry;
import io.ferry.topology.conflicts.view.ConflictEntryMerger;
import io.ferry.topology.conflicts.view.ConflictSighting;
import io.ferry.topology.conflicts.view.ConflictTableKey;
import io.ferry.topology.conflicts.view.ConflictTableRow;
import io.ferry.topology.conflicts.view.SightingMapper;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What {@code ferry status} says about conflicts. Per instance (one conflicts topic): the count by class
 * and by class and resolution, and the last few records. Across the mesh: every topic's records merged
 * the way {@code ferry monitor}'s table merges them ({@link ConflictEntryMerger}), so the two records of
 * one concurrent pair count once, as open, resolved or reported.
 */
final class ConflictDigest {

    /** One conflicts topic. */
    static final class Topic {
        private final int recent;
        private final Map<String, Long> byClass = new TreeMap<>();
        private final Map<String, Map<String, Long>> byResolution = new TreeMap<>();
        private final ArrayDeque<Conflict> last = new ArrayDeque<>();

        Topic(int recent) {
            this.recent = recent;
        }

        void add(Conflict conflict) {
            byClass.merge(conflict.getType(), 1L, Long::sum);
            byResolution.computeIfAbsent(conflict.getType(), k -> new TreeMap<>()).merge(conflict.getResolution(), 1L, Long::sum);
            if (recent > 0) {
                last.addLast(conflict);
                if (last.size() > recent) {
                    last.removeFirst();
                }
            }
        }

        void undecodable() {
            byClass.merge("UNDECODABLE", 1L, Long::sum);
        }

        Map<String, Long> byClass() {
            return byClass;
        }

        /** {@code VALUE: REPAIRED 1, SKIPPED 2; CONDITIONAL_WRITE: RECORDED 1}, or null with no conflict. */
        String resolutionLine() {
            if (byResolution.isEmpty()) {
                return null;
            }
            List<String> parts = new ArrayList<>();
            byResolution.forEach((type, counts) -> {
                List<String> each = new ArrayList<>();
                counts.forEach((resolution, count) -> each.add(resolution + " " + count));
                parts.add(type + ": " + String.join(", ", each));
            });
            return String.join("; ", parts);
        }

        List<String> recentLines() {
            return last.stream().map(ConflictDigest::describe).toList();
        }
    }

    private final Map<ConflictTableKey, ConflictTableRow> table = new HashMap<>();

    /** Merges one record into the mesh-wide view. */
    void merge(Conflict conflict, String topic, int partition, long offset) {
        SightingMapper.Mapped mapped = SightingMapper.map(conflict, topic, partition, offset);
        table.put(mapped.key(), ConflictEntryMerger.merge(mapped.key(), table.get(mapped.key()), mapped.observation()));
    }

    /** Entries by state: open, reported, resolved. */
    Map<String, Long> states() {
        Map<String, Long> states = new TreeMap<>();
        for (String state : List.of(ConflictEntryMerger.OPEN, ConflictEntryMerger.RESOLVED, ConflictEntryMerger.REPORTED)) {
            states.put(state, 0L);
        }
        table.values().forEach(row -> row.getEntries().forEach(e -> states.merge(e.getState(), 1L, Long::sum)));
        return states;
    }

    /** The open entries, newest last, at most {@code max}: class, key, the writes, resolution, who recorded it. */
    List<String> openLines(int max) {
        record Open(long lastSeen, String line) {
        }
        List<Open> open = new ArrayList<>();
        for (ConflictTableRow row : table.values()) {
            for (ConflictEntry entry : row.getEntries()) {
                if (ConflictEntryMerger.OPEN.equals(entry.getState())) {
                    open.add(new Open(entry.getLastSeenMillis(), row.getType() + " " + ByteText.quote(row.getKey(), 60)
                            + " db " + row.getDb() + "  " + entry.getId() + "  " + entry.getResolution() + "  (recorded by "
                            + String.join(", ", entry.getSightings().stream().map(ConflictSighting::getApplier).toList()) + ")"));
                }
            }
        }
        open.sort(java.util.Comparator.comparingLong(Open::lastSeen).thenComparing(Open::line));
        List<String> lines = open.stream().map(Open::line).toList();
        return lines.subList(Math.max(0, lines.size() - max), lines.size());
    }

    /** One conflict record on one line: time, class, key (escaped), db, the writes, policy and winner, resolution. */
    static String describe(Conflict conflict) {
        StringBuilder line = new StringBuilder(120);
        line.append(Instant.ofEpochMilli(conflict.getTimeMillis().toEpochMilli())).append(' ')
                .append(conflict.getType()).append(' ')
                .append(conflict.getKey() == null ? "(no key)" : ByteText.quote(conflict.getKey(), 60))
                .append(" db ").append(conflict.getDb()).append("  ");
        ConflictingWrite write = conflict.getWrite();
        ConflictingWrite other = conflict.getOther();
        if (other == null) {
            line.append("from ").append(conflict.getOrigin());
        } else {
            line.append(name(write, conflict.getOrigin())).append(" vs ").append(name(other, other.getOrigin()));
        }
        if (conflict.getPolicy() != null && !conflict.getPolicy().isEmpty()) {
            line.append("  ").append(conflict.getPolicy())
                    .append(conflict.getWinner() == null ? ", no winner" : ", winner " + conflict.getWinner());
        }
        return line.append("  ").append(conflict.getResolution()).toString();
    }

    private static String name(ConflictingWrite write, String origin) {
        if (write == null) {
            return origin;
        }
        return write.getOrigin() + (write.getKafkaOffset() >= 0 ? "@" + write.getKafkaOffset() : "");
    }
}
