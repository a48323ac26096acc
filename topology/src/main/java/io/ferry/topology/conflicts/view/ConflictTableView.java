package io.ferry.topology.conflicts.view;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * Reads the conflict table's store (an interactive query): every entry counted by state, and the rows
 * a filter selects, most recently updated first.
 */
public final class ConflictTableView {

    /**
     * What to show. Null fields select everything; {@code key} is matched against the key's escaped
     * text (as {@link KeyText} prints it, so {@code \xff} selects a key holding byte 0xff).
     */
    public record Filter(String state, String type, Integer db, String key, int limit) {

        public static final int DEFAULT_LIMIT = 200;

        public static Filter all() {
            return new Filter(null, null, null, null, DEFAULT_LIMIT);
        }

        /** From an HTTP query's parameters: state, type, db, key, limit; a bad value names itself. */
        public static Filter parse(Map<String, String> parameters) {
            String state = parameters.get("state");
            if (state != null && !List.of(ConflictEntryMerger.OPEN, ConflictEntryMerger.RESOLVED, ConflictEntryMerger.REPORTED, "all")
                    .contains(state)) {
                throw new IllegalArgumentException("state=" + state + ": expected open, resolved, reported or all");
            }
            String type = parameters.get("type");
            return new Filter("all".equals(state) ? null : state, type == null ? null : type.toUpperCase(Locale.ROOT),
                    integer(parameters, "db", null), parameters.get("key"), integer(parameters, "limit", DEFAULT_LIMIT));
        }

        private static Integer integer(Map<String, String> parameters, String name, Integer fallback) {
            String text = parameters.get(name);
            if (text == null) {
                return fallback;
            }
            try {
                int value = Integer.parseInt(text);
                if (value < 0) {
                    throw new NumberFormatException();
                }
                return value;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + "=" + text + ": expected a number of 0 or more");
            }
        }

        boolean selects(ConflictTableRow row) {
            return (type == null || type.equals(row.getType()))
                    && (db == null || db == row.getDb())
                    && (key == null || key.equals(KeyText.escape(row.getKey())));
        }
    }

    /**
     * @param entries every entry of the table by state (open, resolved, reported), whatever the filter
     * @param rows    the selected rows, only their entries in the filter's state, newest first, at most the limit
     * @param matched how many rows the filter selects (rows may be cut at the limit)
     */
    public record Result(Map<String, Long> entries, List<ConflictTableRow> rows, long matched) {
    }

    private final Supplier<ReadOnlyKeyValueStore<ConflictTableKey, ConflictTableRow>> store;

    /** @param store the table's store; it may throw InvalidStateStoreException while the table is being restored */
    public ConflictTableView(Supplier<ReadOnlyKeyValueStore<ConflictTableKey, ConflictTableRow>> store) {
        this.store = store;
    }

    public Result query(Filter filter) {
        Map<String, Long> entries = new TreeMap<>();
        for (String state : List.of(ConflictEntryMerger.OPEN, ConflictEntryMerger.RESOLVED, ConflictEntryMerger.REPORTED)) {
            entries.put(state, 0L);
        }
        List<ConflictTableRow> rows = new ArrayList<>();
        long matched = 0;
        try (KeyValueIterator<ConflictTableKey, ConflictTableRow> all = store.get().all()) {
            while (all.hasNext()) {
                KeyValue<ConflictTableKey, ConflictTableRow> next = all.next();
                ConflictTableRow row = next.value;
                if (row == null) {
                    continue;
                }
                row.getEntries().forEach(e -> entries.merge(e.getState(), 1L, Long::sum));
                if (!filter.selects(row)) {
                    continue;
                }
                List<ConflictEntry> shown = row.getEntries().stream()
                        .filter(e -> filter.state() == null || filter.state().equals(e.getState())).toList();
                if (shown.isEmpty()) {
                    continue;
                }
                matched++;
                rows.add(ConflictTableRow.newBuilder(row).setEntries(shown).build());
            }
        }
        rows.sort(Comparator.comparingLong(ConflictTableRow::getUpdatedMillis).reversed()
                .thenComparing(r -> KeyText.escape(r.getKey())));
        return new Result(entries, rows.size() > filter.limit() ? List.copyOf(rows.subList(0, filter.limit())) : rows, matched);
    }

    /** Entries of the whole table by state. */
    public Map<String, Long> counts() {
        return query(new Filter(null, null, null, null, 0)).entries();
    }
}
