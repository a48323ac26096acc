package io.ferry.topology.conflicts.view;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Merges one applier's record of a conflict into its row of the mesh-wide table: a pure function, so the
 * Kafka Streams aggregation, {@code ferry status} and the tests all settle a conflict the same way.
 *
 * <p>An entry keeps the latest record of each applier (a replayed, older record of the same applier is
 * ignored, so merging is idempotent). Its state follows from those records:
 * <ul>
 *   <li>{@code open} while any applier's latest record says {@code REPAIR_FAILED}: a repair that did not
 *       happen leaves the instances apart, whatever the other side did;</li>
 *   <li>otherwise {@code resolved} once any record says {@code REPAIRED}, {@code SKIPPED} or
 *       {@code COMMUTES} (the entry's resolution is the first of those three found, in that order);</li>
 *   <li>otherwise {@code reported} once the policy is {@code report} and both writes' origins have
 *       recorded the pair (each instance knows of the conflict; nothing was to be settled);</li>
 *   <li>otherwise {@code open}: one side only so far, or a reply-only conflict that nothing settled.</li>
 * </ul>
 * A row keeps at most {@link #MAX_ENTRIES} entries; beyond that the oldest settled ones, then the
 * oldest open ones, are forgotten and counted in {@code dropped}.
 */
public final class ConflictEntryMerger {

    public static final String OPEN = "open";
    public static final String RESOLVED = "resolved";
    public static final String REPORTED = "reported";

    /** Entries one row keeps. */
    public static final int MAX_ENTRIES = 100;

    private static final List<String> SETTLING = List.of("REPAIRED", "SKIPPED", "COMMUTES");

    private ConflictEntryMerger() {
    }

    /** {@code row} (null for a key not seen yet) with {@code observation} merged in; {@code row} is not changed. */
    public static ConflictTableRow merge(ConflictTableKey key, ConflictTableRow row, ConflictObservation observation) {
        List<ConflictEntry> entries = new ArrayList<>();
        long dropped = 0;
        long updated = observation.getSighting().getTimeMillis();
        if (row != null) {
            row.getEntries().forEach(e -> entries.add(ConflictEntry.newBuilder(e).build()));
            dropped = row.getDropped();
            updated = Math.max(updated, row.getUpdatedMillis());
        }
        ConflictEntry entry = entries.stream().filter(e -> e.getId().equals(observation.getEntryId())).findFirst().orElse(null);
        if (entry == null) {
            entry = ConflictEntry.newBuilder()
                    .setId(observation.getEntryId())
                    .setReplyOnly(observation.getReplyOnly())
                    .setWrites(new ArrayList<>(observation.getWrites()))
                    .setSightings(new ArrayList<>())
                    .setState(OPEN)
                    .setResolution("RECORDED")
                    .setFirstSeenMillis(observation.getSighting().getTimeMillis())
                    .setLastSeenMillis(observation.getSighting().getTimeMillis())
                    .build();
            entries.add(entry);
        }
        if (!addSighting(entry, observation.getSighting())) {
            return row; // a replay of what the row already holds
        }
        settle(entry);
        dropped += trim(entries);
        entries.sort(Comparator.comparingLong(ConflictEntry::getFirstSeenMillis).thenComparing(ConflictEntry::getId));
        int open = (int) entries.stream().filter(e -> OPEN.equals(e.getState())).count();
        return ConflictTableRow.newBuilder()
                .setDb(key.getDb())
                .setKey(key.getKey())
                .setType(key.getType())
                .setEntries(entries)
                .setOpen(open)
                .setDropped(dropped)
                .setUpdatedMillis(updated)
                .build();
    }

    /** Keeps the latest record per applier; false when {@code sighting} is not newer than the one held. */
    private static boolean addSighting(ConflictEntry entry, ConflictSighting sighting) {
        List<ConflictSighting> sightings = new ArrayList<>(entry.getSightings());
        for (int i = 0; i < sightings.size(); i++) {
            ConflictSighting held = sightings.get(i);
            if (!held.getApplier().equals(sighting.getApplier())) {
                continue;
            }
            boolean sameSource = held.getTopic().equals(sighting.getTopic()) && held.getPartition() == sighting.getPartition();
            if (sameSource && sighting.getOffset() <= held.getOffset()) {
                return false;
            }
            sightings.set(i, sighting);
            entry.setSightings(sightings);
            return true;
        }
        sightings.add(sighting);
        sightings.sort(Comparator.comparing(ConflictSighting::getApplier));
        entry.setSightings(sightings);
        return true;
    }

    private static void settle(ConflictEntry entry) {
        List<ConflictSighting> sightings = entry.getSightings();
        entry.setFirstSeenMillis(Math.min(entry.getFirstSeenMillis(),
                sightings.stream().mapToLong(ConflictSighting::getTimeMillis).min().orElse(entry.getFirstSeenMillis())));
        entry.setLastSeenMillis(Math.max(entry.getLastSeenMillis(),
                sightings.stream().mapToLong(ConflictSighting::getTimeMillis).max().orElse(entry.getLastSeenMillis())));
        entry.setPolicy(sightings.stream().map(ConflictSighting::getPolicy).filter(p -> p != null && !p.isEmpty())
                .findFirst().orElse(""));
        entry.setWinner(sightings.stream().map(ConflictSighting::getWinner).filter(Objects::nonNull).findFirst().orElse(null));
        Set<String> resolutions = new HashSet<>();
        Set<String> appliers = new HashSet<>();
        for (ConflictSighting s : sightings) {
            resolutions.add(s.getResolution());
            appliers.add(s.getApplier());
        }
        if (resolutions.contains("REPAIR_FAILED")) {
            entry.setState(OPEN);
            entry.setResolution("REPAIR_FAILED");
            return;
        }
        for (String settling : SETTLING) {
            if (resolutions.contains(settling)) {
                entry.setState(RESOLVED);
                entry.setResolution(settling);
                return;
            }
        }
        entry.setResolution("RECORDED");
        boolean bothSides = !entry.getReplyOnly()
                && entry.getWrites().stream().map(ConflictWriteRef::getOrigin).allMatch(appliers::contains);
        entry.setState("report".equals(entry.getPolicy()) && bothSides ? REPORTED : OPEN);
    }

    /** Forgets the oldest settled entries, then the oldest open ones, beyond {@link #MAX_ENTRIES}; returns how many. */
    private static int trim(List<ConflictEntry> entries) {
        int over = entries.size() - MAX_ENTRIES;
        if (over <= 0) {
            return 0;
        }
        entries.sort(Comparator.comparing((ConflictEntry e) -> OPEN.equals(e.getState()))
                .thenComparingLong(ConflictEntry::getLastSeenMillis));
        entries.subList(0, over).clear();
        return over;
    }
}
