package io.ferry.cli.verify;

import io.ferry.schemas.ReplicationPolicy;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The compare pass of {@code ferry verify}: for every db that holds keys on any of the instances, SCANs
 * each instance in turn and compares every key it finds across all of them. A key an earlier instance
 * holds was compared during that instance's scan and is skipped. A key whose copies differ is a suspect:
 * it is read again {@link #RECHECK_AFTER_MILLIS} after it was first seen, and only reported as diverged
 * when it still differs at the last recheck, so keys in flight (replication lag) are no false alarm.
 * Suspects are rechecked between SCAN pages, so a broken mesh does not stall the scan.
 */
final class MeshVerifier {

    /** When a differing key is read again, counted from when it was first seen to differ. */
    static final long[] RECHECK_AFTER_MILLIS = {300, 900, 2000};
    private static final int RECHECK_BATCH = 100;

    /** What the compare pass found. */
    record Outcome(long keysChecked, List<Divergence> diverged) {
    }

    /** Told about every confirmed divergence (the report) and about progress. */
    interface Listener {
        void diverged(Divergence divergence);

        void progress(int db, String instance, long keysChecked, int suspects, int diverged);
    }

    private final MeshReader reader;
    private final List<InstanceClient> instances;
    private final CopyComparator comparator;
    private final byte[] pattern;
    private final Listener listener;
    private final List<Divergence> diverged = new ArrayList<>();
    private long keysChecked;

    MeshVerifier(MeshReader reader, CopyComparator comparator, byte[] pattern, Listener listener) {
        this.reader = reader;
        this.instances = reader.instances();
        this.comparator = comparator;
        this.pattern = pattern;
        this.listener = listener;
    }

    Outcome run() {
        SortedSet<Integer> dbs = new TreeSet<>();
        instances.forEach(instance -> dbs.addAll(instance.dbsWithKeys()));
        for (int db : dbs) {
            verify(db);
        }
        return new Outcome(keysChecked, List.copyOf(diverged));
    }

    private static final class Suspect {
        final int db;
        final byte[] key;
        final long firstSeenNanos = System.nanoTime();
        Map<String, KeyCopy> copies;
        final Map<String, Long> touchedAt = new LinkedHashMap<>();
        int rechecks;
        String reason;

        Suspect(int db, byte[] key, Map<String, KeyCopy> copies, String reason) {
            this.db = db;
            this.key = key;
            this.copies = copies;
            this.reason = reason;
            copies.forEach((id, copy) -> touchedAt.put(id, copy.touchedAtMillis()));
        }

        long dueNanos() {
            return firstSeenNanos + TimeUnit.MILLISECONDS.toNanos(RECHECK_AFTER_MILLIS[rechecks]);
        }

        /**
         * Takes a new read. A copy whose content has not changed keeps the touch time first seen: our own
         * reads touched it since. A changed copy was written after our last read, so its idle time is news.
         */
        void update(Map<String, KeyCopy> latest, String newReason) {
            latest.forEach((id, copy) -> {
                KeyCopy before = copies.get(id);
                if (before == null || !copy.sameAs(before)) {
                    touchedAt.put(id, copy.touchedAtMillis());
                }
            });
            copies = latest;
            reason = newReason;
        }
    }

    private void verify(int db) {
        PriorityQueue<Suspect> suspects = new PriorityQueue<>(Comparator.comparingLong(Suspect::dueNanos));
        Set<ByteBuffer> seen = new HashSet<>(); // suspects and diverged keys of this db: compared once
        for (int i = 0; i < instances.size(); i++) {
            InstanceClient scanned = instances.get(i);
            scanned.select(db);
            ScanPage page;
            for (ScanCursor cursor = ScanCursor.INITIAL; cursor != null; cursor = page.next()) {
                page = scanned.scan(cursor, pattern);
                List<byte[]> keys = page.keys().stream()
                        .filter(key -> !ReplicationPolicy.isReservedKey(key) && !seen.contains(ByteBuffer.wrap(key)))
                        .toList();
                compare(db, notOnEarlierInstances(db, keys, i), suspects, seen);
                recheck(suspects, false);
                listener.progress(db, scanned.id(), keysChecked, suspects.size(), diverged.size());
            }
        }
        recheck(suspects, true);
        listener.progress(db, "", keysChecked, 0, diverged.size());
    }

    /** The keys none of the instances scanned before {@code scanned} holds (those were compared in their scan). */
    private List<byte[]> notOnEarlierInstances(int db, List<byte[]> keys, int scanned) {
        List<byte[]> left = keys;
        for (int j = 0; j < scanned && !left.isEmpty(); j++) {
            InstanceClient earlier = instances.get(j);
            earlier.select(db);
            boolean[] exists = earlier.exist(left);
            List<byte[]> notThere = new ArrayList<>();
            for (int k = 0; k < exists.length; k++) {
                if (!exists[k]) {
                    notThere.add(left.get(k));
                }
            }
            left = notThere;
        }
        return left;
    }

    private void compare(int db, List<byte[]> keys, PriorityQueue<Suspect> suspects, Set<ByteBuffer> seen) {
        List<Map<String, KeyCopy>> copies = reader.read(db, keys);
        for (int k = 0; k < keys.size(); k++) {
            keysChecked++;
            Optional<String> difference = comparator.difference(copies.get(k));
            if (difference.isPresent()) {
                suspects.add(new Suspect(db, keys.get(k), copies.get(k), difference.get()));
                seen.add(ByteBuffer.wrap(keys.get(k)));
            }
        }
    }

    /** Rechecks the suspects that are due, a batch at a time; with {@code drain}, waits for and rechecks all of them. */
    private void recheck(PriorityQueue<Suspect> suspects, boolean drain) {
        while (!suspects.isEmpty()) {
            long wait = suspects.peek().dueNanos() - System.nanoTime();
            if (wait > 0) {
                if (!drain) {
                    return;
                }
                LockSupport.parkNanos(wait);
                continue;
            }
            List<Suspect> due = new ArrayList<>();
            while (!suspects.isEmpty() && suspects.peek().dueNanos() <= System.nanoTime() && due.size() < RECHECK_BATCH) {
                due.add(suspects.poll());
            }
            List<Map<String, KeyCopy>> copies = reader.read(due.get(0).db, due.stream().map(suspect -> suspect.key).toList());
            for (int k = 0; k < due.size(); k++) {
                Suspect suspect = due.get(k);
                Optional<String> difference = comparator.difference(copies.get(k));
                if (difference.isEmpty()) {
                    continue; // it was in flight
                }
                suspect.update(copies.get(k), difference.get());
                suspect.rechecks++;
                if (suspect.rechecks < RECHECK_AFTER_MILLIS.length) {
                    suspects.add(suspect);
                } else {
                    Divergence divergence = new Divergence(suspect.db, suspect.key, suspect.reason, suspect.copies, suspect.touchedAt);
                    diverged.add(divergence);
                    listener.diverged(divergence);
                }
            }
        }
    }
}
