package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, Done-when: agents killed (-9) at random under pipelined INCR/RPUSH load on every instance, with
 * replication backlogs so small that a capture restart needs a full resync: afterwards every keyspace is
 * identical and every origin's counters and lists are exact on every instance, and so are counters that every
 * instance incremented at once (the measured case).
 */
class ResyncUnderKillTest {

    private static final List<String> NAMES = List.of("A", "B", "C");
    private static final int MIN_KILLS = 3;
    private static final int SHARED_OPS = 3_000;
    private static final int SHARED_KEYS = 4;

    @Test
    void agentsKilledAtRandomWithFullResyncsLeaveEveryKeyspaceIdenticalAndEveryOracleExact() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.start("A", "B", "C")) {
            for (String name : NAMES) {
                FullResyncTest.smallestBacklog(mesh.redis(name)); // overflows within a second under load
            }
            List<CounterLoad> loads = NAMES.stream()
                    // 15 s hold 4-6 kills; the loop below goes on until MIN_KILLS in any case
                    .map(name -> new CounterLoad(mesh, name, 20_000, 20, Duration.ofSeconds(15)).start()).toList();
            // and counters every instance increments at once (the measured case; lists that every instance pushes
            // to can lose a resynced instance's gap pushes to conflict repair copies: see the README's known limits)
            List<CounterLoad> shared = NAMES.stream()
                    .map(name -> new CounterLoad(mesh, name, "shared", SHARED_OPS, SHARED_KEYS, Duration.ofSeconds(15))
                            .incrementsOnly().start())
                    .toList();
            ThreadLocalRandom random = ThreadLocalRandom.current();
            int kills = 0;
            int captureKills = 0;
            Restarted lastCapture = null;
            // kills land while every instance writes (and, on a machine so loaded that the writes finish first, until
            // MIN_KILLS agents were killed)
            while (!loads.stream().allMatch(CounterLoad::isDone) || !shared.stream().allMatch(CounterLoad::isDone) || kills < MIN_KILLS) {
                Thread.sleep(random.nextLong(1_000, 3_000)); // fault schedule: agents run a moment between kills
                String name = NAMES.get(random.nextInt(NAMES.size()));
                // captures more often: their restarts are what needs a resync; at least one of the first MIN_KILLS,
                // so that a short run does not miss the full resync asserted below by chance
                boolean capture = random.nextInt(3) < 2 || (captureKills == 0 && kills == MIN_KILLS - 1);
                if (capture && lastCapture != null) {
                    lastCapture.awaitReconciled(mesh);
                    lastCapture = null;
                }
                if (capture) {
                    mesh.capture(name).kill();
                    captureKills++;
                } else {
                    mesh.apply(name).kill();
                }
                kills++;
                Thread.sleep(random.nextLong(300, 1_200)); // down long enough for the 16 KB backlog to overflow
                if (capture) {
                    lastCapture = new Restarted(mesh, name);
                    mesh.startCapture(name);
                } else {
                    mesh.startApply(name);
                }
            }
            loads.forEach(CounterLoad::await);
            shared.forEach(CounterLoad::await);
            for (String name : NAMES) {
                mesh.awaitReady(name, "capture");
                mesh.awaitReady(name, "apply");
            }
            try {
                Await.until(MeshUnderTest.CONVERGE, "every load applied everywhere and the keyspaces identical", () -> {
                    for (String on : NAMES) {
                        for (CounterLoad load : loads) {
                            if (!load.appliedOn(on)) {
                                return false;
                            }
                        }
                        if (CounterLoad.firstDifferenceOfAll(shared, mesh.redis(on)) != null) {
                            return false;
                        }
                    }
                    return FullResyncTest.identical(mesh);
                });
            } catch (AssertionError e) {
                StringBuilder oracles = new StringBuilder();
                for (String on : NAMES) {
                    for (CounterLoad load : loads) {
                        String difference = load.firstDifference(mesh.redis(on));
                        if (difference != null) {
                            oracles.append(on).append(": ").append(difference).append('\n');
                        }
                    }
                    String difference = CounterLoad.firstDifferenceOfAll(shared, mesh.redis(on));
                    if (difference != null) {
                        oracles.append(on).append(": ").append(difference).append('\n');
                    }
                }
                mesh.keepLogs("ResyncUnderKillTest did not converge");
                throw new AssertionError(e.getMessage() + " after " + kills + " kills; differences:\n" + FullResyncTest.differences(mesh)
                        + "oracles:\n" + oracles, e);
            }
            for (String on : NAMES) {
                for (CounterLoad load : loads) {
                    load.assertAppliedExactlyOnceOn(on);
                }
                assertNull(CounterLoad.firstDifferenceOfAll(shared, mesh.redis(on)), on + ": keys every instance wrote");
            }
            int resyncs = 0;
            for (String name : NAMES) {
                resyncs += occurrences(mesh.log("capture", name), "full resync from");
            }
            System.out.printf("%d agent kills (%d of captures), %d full resyncs of running instances; %d writes exact on every instance%n",
                    kills, captureKills, resyncs, loads.size() * 20_000 + shared.size() * SHARED_OPS);
            assertTrue(resyncs >= 1, "at least one capture restart needed a full resync (" + kills + " kills)");
            assertTrue(kills >= MIN_KILLS, kills + " kills");
            for (String name : NAMES) {
                assertEquals(0.0, mesh.metric(name, "apply", "ferry_apply_dead_letters_total"), name + " dead letters");
            }
        }
    }

    /**
     * A capture just restarted. Two instances resyncing at once, each before applying the other's snapshot, is the
     * documented limit (README, "A full resync of a running instance"): before the next capture is killed, every
     * peer has reconciled this one's resync snapshot, if it needed one (apply agents are killed at any time, in
     * the middle of a reconciliation too).
     */
    private record Restarted(String name, int resyncsBefore, Map<String, Integer> reconciledBefore) {

        Restarted(MeshUnderTest mesh, String name) {
            this(name, occurrences(mesh.log("capture", name), "full resync from"), reconciledCounts(mesh, name));
        }

        void awaitReconciled(MeshUnderTest mesh) {
            mesh.awaitReady(name, "capture");
            if (occurrences(mesh.log("capture", name), "full resync from") == resyncsBefore) {
                return;
            }
            reconciledBefore.forEach((peer, count) -> Await.until(MeshUnderTest.CONVERGE, peer + " reconciled " + name
                    + "'s resync snapshot", () -> occurrences(mesh.log("apply", peer), reconciledLine(mesh, name)) > count));
        }
    }

    private static Map<String, Integer> reconciledCounts(MeshUnderTest mesh, String name) {
        Map<String, Integer> counts = new HashMap<>();
        for (String peer : NAMES) {
            if (!peer.equals(name)) {
                counts.put(peer, occurrences(mesh.log("apply", peer), reconciledLine(mesh, name)));
            }
        }
        return counts;
    }

    /** The apply agent's line once a resync snapshot is reconciled (or applied conservatively). */
    private static String reconciledLine(MeshUnderTest mesh, String name) {
        return "resync snapshot of " + mesh.id(name) + " (previous position";
    }

    private static int occurrences(Path log, String text) {
        String content;
        try {
            content = Files.readString(log);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        int count = 0;
        for (int i = content.indexOf(text); i >= 0; i = content.indexOf(text, i + 1)) {
            count++;
        }
        return count;
    }
}
