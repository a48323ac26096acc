package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, item 3: a running instance whose capture was away longer than its Redis's replication backlog
 * holds gets a full resync; its snapshot must leave every peer with exactly its state for what it wrote
 * (keys changed in the gap replaced, keys deleted in the gap deleted) while the peers' own writes, which it
 * had not applied yet, survive.
 */
class FullResyncTest {

    private static final int KEYS = 200;

    /** A mesh file whose apply agents ask a resynced peer to re-publish the keys they kept. */
    private static final String REPUBLISHING = "apply: {republishGuardedKeys: true}\n";

    @Test
    void aFullResyncOfARunningInstanceLeavesEveryPeerWithItsStateAndKeepsTheirUnseenWrites() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.start("A", "B", "C")) {
            RedisCommands<String, String> a = mesh.redis("A");
            RedisCommands<String, String> b = mesh.redis("B");
            RedisCommands<String, String> c = mesh.redis("C");
            smallestBacklog(a);
            for (int i = 0; i < KEYS; i++) {
                a.set("a:change:" + i, "old");
                a.set("a:gone:" + i, "v");
                a.set("a:keep:" + i, "v");
                a.rpush("a:list", String.valueOf(i));
            }
            b.set("shared", "from-b"); // A overwrites it in the gap, having applied it: A's value is the later one
            b.set("b:untouched", "v");
            Await.until(MeshUnderTest.CONVERGE, "the three instances identical before the gap",
                    () -> "from-b".equals(a.get("shared")) && c.exists("a:list") == 1 && identical(mesh));

            // A's load runs before, during and after the gap; B's and C's while A's snapshot arrives, so that
            // the peers hold writes A had not applied when its copy was taken
            CounterLoad onA = new CounterLoad(mesh, "A", 30_000, 20, Duration.ofSeconds(20)).start();
            Thread.sleep(2_000);
            mesh.capture("A").kill();
            CounterLoad onB = new CounterLoad(mesh, "B", 30_000, 20, Duration.ofSeconds(25)).start();
            CounterLoad onC = new CounterLoad(mesh, "C", 30_000, 20, Duration.ofSeconds(25)).start();
            for (int i = 0; i < KEYS; i++) {
                a.set("a:change:" + i, "new" + i);
                a.del("a:gone:" + i);
                a.set("a:new:" + i, "n");
            }
            a.set("shared", "from-a");
            a.del("a:list");
            a.rpush("a:list", "only");
            overflowBacklog(a);
            restartCaptureWithFullResync(mesh, "A");

            onA.await();
            onB.await();
            onC.await();
            Await.until(MeshUnderTest.CONVERGE, "every load applied everywhere and the keyspaces identical", () -> {
                for (String on : List.of("A", "B", "C")) {
                    if (!(onA.appliedOn(on) && onB.appliedOn(on) && onC.appliedOn(on))) {
                        return false;
                    }
                }
                return identical(mesh);
            });
            for (String on : List.of("A", "B", "C")) {
                onA.assertAppliedExactlyOnceOn(on);
                onB.assertAppliedExactlyOnceOn(on);
                onC.assertAppliedExactlyOnceOn(on);
            }
            for (String peer : List.of("B", "C")) {
                RedisCommands<String, String> r = mesh.redis(peer);
                for (int i = 0; i < KEYS; i++) {
                    assertEquals(0, r.exists("a:gone:" + i), peer + " still holds a:gone:" + i + ", deleted on A in the gap");
                    assertEquals("new" + i, r.get("a:change:" + i), peer + " a:change:" + i);
                    assertEquals("n", r.get("a:new:" + i), peer + " a:new:" + i);
                    assertEquals("v", r.get("a:keep:" + i), peer + " a:keep:" + i);
                }
                assertEquals("from-a", r.get("shared"), peer + " shared");
                assertEquals(List.of("only"), r.lrange("a:list", 0, -1), peer + " a:list");
                assertEquals("v", r.get("b:untouched"), peer + " b:untouched");
                assertEquals(1.0, mesh.metric(peer, "apply", "ferry_apply_resyncs_total", "outcome=\"reconciled\""),
                        peer + " reconciled A's resync snapshot");
                double deleted = mesh.metric(peer, "apply", "ferry_apply_resync_keys_total", "action=\"deleted\"");
                double guarded = mesh.metric(peer, "apply", "ferry_apply_resync_keys_total", "action=\"guarded\"");
                double rebuilt = mesh.metric(peer, "apply", "ferry_apply_resync_keys_total", "action=\"rebuilt\"");
                System.out.printf("%s: %.0f keys deleted, %.0f rebuilt from A's copy and the writes here A had not applied, %.0f"
                        + " kept%n", peer, deleted, rebuilt, guarded);
                assertTrue(deleted >= KEYS, peer + " deleted " + deleted);
                // the loads' keys hold writes A had not applied (B's and C's, each run again on its own): rebuilt
                assertTrue(rebuilt > 0, peer + " rebuilt the keys the loads wrote after A's snapshot");
                // re-publication is off here (the default): any key kept is named in the conflicts topic, not silent
                double recorded = mesh.metric(peer, "apply", "ferry_apply_conflict_resolutions_total",
                        "type=\"RESYNC_GUARDED\"", "resolution=\"RECORDED\"");
                assertTrue(recorded >= guarded, peer + " recorded " + recorded + " of its " + guarded + " kept keys as RESYNC_GUARDED");
                assertEquals(0.0, mesh.metric(peer, "apply", "ferry_apply_dead_letters_total"), peer + " dead letters");
            }
        }
    }

    /**
     * Issue 11, the guarded keys' gap: A changes a counter, a list and a value in its gap (never published as writes, only
     * in its snapshot) that B and C change too after A's snapshot was taken, with writes that can each be run again on
     * their own (INCR, RPUSH, SET). B and C rebuild the keys (A's copy, then the writes A had not applied that took effect
     * on them, in their order), which is what A holds once its apply agent has applied those writes: every instance
     * holds every increment and every pushed element, and the value B wrote last, without any re-publication.
     */
    @Test
    void gapWritesToKeysThePeersAlsoWroteAfterTheSnapshotReachEveryInstance() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.start("A", "B", "C")) {
            GuardedKeys guarded = GuardedKeys.afterResyncOfA(mesh, true);
            mesh.startApply("A");
            mesh.awaitReady("A", "apply");
            guarded.awaitEveryWriteEverywhere(mesh, "b-after", false);
        }
    }

    /**
     * The same keys written on B and C in MULTI blocks that also write another key (so they cannot be run again on
     * their own: B and C keep their copies and ask A to re-publish them), and B writes them again while A's
     * re-publications are on their way: B's apply agent is down, so B's increments, pushes and value are concurrent
     * with A's copies (and made after the values they copy). A re-publication wins against the increments and pushes,
     * which are applied on top of it (A applies them after its copy and re-publishes the result), and loses to the
     * value B set after it: nothing is lost, and the value B set last is the one every instance ends with, whichever
     * B's agent meets first when it comes back, A's copy or its own writes read back.
     */
    @Test
    void writesRacingTheRepublicationOfGuardedKeysAreKeptOrWinByTheirTime() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.startWith(REPUBLISHING, "A", "B", "C")) {
            GuardedKeys guarded = GuardedKeys.afterResyncOfA(mesh, false);
            RedisCommands<String, String> b = mesh.redis("B");
            mesh.apply("B").kill(); // B applies none of A's re-publications until its writes below are made
            mesh.startApply("A");
            mesh.awaitReady("A", "apply");
            Await.until(MeshUnderTest.CONVERGE, "A re-published the counter, the list and the value",
                    () -> mesh.metric("A", "apply", "ferry_apply_republish_requests_total", "outcome=\"republished\"") >= 3);
            for (int i = 1; i <= 6; i++) {
                b.incr("shared:counter");
                guarded.push(b, "late-b" + i);
            }
            guarded.increments += 6;
            b.set("shared:value", "late-b");
            mesh.startApply("B");
            mesh.awaitReady("B", "apply");
            guarded.awaitEveryWriteEverywhere(mesh, "late-b", true);
        }
    }

    /** Keys A changed in its gap and B and C changed after A's snapshot, guarded on B and C: what every instance must end with. */
    private static final class GuardedKeys {
        final List<String> pushed = new ArrayList<>(List.of("seed"));
        int increments;

        void push(RedisCommands<String, String> redis, String element) {
            redis.rpush("shared:list", element);
            pushed.add(element);
        }

        /** {@code write} on {@code redis}, alone, or in a MULTI block that also writes a key of its own (not run again). */
        private static void write(RedisCommands<String, String> redis, boolean alone, Runnable write) {
            if (alone) {
                write.run();
                return;
            }
            redis.multi();
            write.run();
            redis.incr("side");
            redis.exec();
        }

        /**
         * A's capture and apply agent stop, A writes the keys and overflows its backlog, B and C write them (each write
         * alone when {@code replayable}, else in a MULTI block with another key), A's capture comes back with a full
         * resync, and B and C reconcile its snapshot: rebuilding the keys, or keeping them (A's apply agent stays down).
         */
        static GuardedKeys afterResyncOfA(MeshUnderTest mesh, boolean replayable) {
            GuardedKeys keys = new GuardedKeys();
            RedisCommands<String, String> a = mesh.redis("A");
            RedisCommands<String, String> b = mesh.redis("B");
            RedisCommands<String, String> c = mesh.redis("C");
            smallestBacklog(a);
            b.set("shared:counter", "100");
            b.rpush("shared:list", "seed");
            b.set("shared:value", "b-before");
            Await.until(MeshUnderTest.CONVERGE, "the three instances identical before the gap",
                    () -> a.exists("shared:list") == 1 && c.exists("shared:list") == 1 && identical(mesh));

            // A's apply agent stops first: nothing B and C write from now on is in A's snapshot (they are past its V)
            mesh.apply("A").kill();
            mesh.capture("A").kill();
            for (int i = 1; i <= 5; i++) {
                a.incr("shared:counter");
                keys.push(a, "a" + i);
            }
            a.set("shared:value", "a-gap");
            overflowBacklog(a);
            for (int i = 1; i <= 7; i++) {
                write(b, replayable, () -> b.incr("shared:counter"));
                String element = "b" + i;
                write(b, replayable, () -> keys.push(b, element));
            }
            write(b, replayable, () -> b.set("shared:value", "b-after"));
            for (int i = 1; i <= 3; i++) {
                write(c, replayable, () -> c.incr("shared:counter")); // a third instance's writes guard the keys on B as well
            }
            keys.increments = 5 + 7 + 3;
            Await.until(MeshUnderTest.CONVERGE, "B and C hold each other's writes",
                    () -> "110".equals(b.get("shared:counter")) && "110".equals(c.get("shared:counter")) && c.llen("shared:list") == 8
                            && "b-after".equals(c.get("shared:value")));

            restartCaptureWithFullResync(mesh, "A");
            List<String> expected = keys.pushed.stream().sorted().toList();
            for (String peer : List.of("B", "C")) {
                Await.until(MeshUnderTest.CONVERGE, peer + " reconciled A's resync snapshot",
                        () -> mesh.metric(peer, "apply", "ferry_apply_resyncs_total", "outcome=\"reconciled\"") == 1.0);
                RedisCommands<String, String> r = mesh.redis(peer);
                if (replayable) {
                    assertEquals("115", r.get("shared:counter"), peer + " rebuilt its counter: A's 105, then its own and the other"
                            + " peer's increments A had not applied");
                    assertEquals(expected, r.lrange("shared:list", 0, -1).stream().sorted().toList(), peer + " rebuilt shared:list");
                    assertEquals("b-after", r.get("shared:value"), peer + " rebuilt shared:value: A's a-gap, then B's SET");
                    assertEquals(3.0, mesh.metric(peer, "apply", "ferry_apply_resync_keys_total", "action=\"rebuilt\""), peer + " rebuilt");
                    assertEquals(0.0, mesh.metric(peer, "apply", "ferry_apply_conflicts_total", "type=\"RESYNC_GUARDED\""),
                            peer + " kept no key: nothing to re-publish or record");
                } else {
                    assertEquals("110", r.get("shared:counter"), peer + " kept its counter: writes A had not applied guard it");
                    assertTrue(mesh.metric(peer, "apply", "ferry_apply_conflicts_total", "type=\"RESYNC_GUARDED\"") >= 3,
                            peer + " asked A to re-publish the counter, the list and the value");
                }
            }
            return keys;
        }

        /**
         * Every increment and pushed element once on every instance, {@code value} everywhere, keyspaces identical; and,
         * when {@code republished}, A re-published the keys.
         */
        void awaitEveryWriteEverywhere(MeshUnderTest mesh, String value, boolean republished) {
            String total = String.valueOf(100 + increments);
            try {
                Await.until(MeshUnderTest.CONVERGE, "every increment and every pushed element on every instance, keyspaces identical",
                        () -> {
                            for (String on : List.of("A", "B", "C")) {
                                if (!total.equals(mesh.redis(on).get("shared:counter")) || !value.equals(mesh.redis(on).get("shared:value"))) {
                                    return false;
                                }
                            }
                            return identical(mesh);
                        });
            } catch (AssertionError e) {
                StringBuilder seen = new StringBuilder();
                for (String on : List.of("A", "B", "C")) {
                    seen.append(on).append(": counter ").append(mesh.redis(on).get("shared:counter")).append(" (expected ").append(total)
                            .append("), value ").append(mesh.redis(on).get("shared:value")).append(", list ")
                            .append(mesh.redis(on).lrange("shared:list", 0, -1)).append('\n');
                }
                throw new AssertionError(e.getMessage() + "; expected value " + value + ", list " + pushed + "\n" + seen
                        + "differences:\n" + differences(mesh), e);
            }
            List<String> expected = pushed.stream().sorted().toList();
            for (String on : List.of("A", "B", "C")) {
                assertEquals(expected, mesh.redis(on).lrange("shared:list", 0, -1).stream().sorted().toList(), on + " shared:list");
            }
            if (republished) {
                assertTrue(mesh.metric("A", "apply", "ferry_apply_republish_requests_total", "outcome=\"republished\"") >= 3,
                        "A re-published the keys once it had applied B's and C's writes");
                assertEquals(0.0, mesh.metric("A", "apply", "ferry_apply_republish_requests_total", "outcome=\"refused\""));
            }
            for (String on : List.of("A", "B", "C")) {
                assertEquals(0.0, mesh.metric(on, "apply", "ferry_apply_dead_letters_total"), on + " dead letters");
            }
        }
    }

    static void smallestBacklog(RedisCommands<String, String> redis) {
        redis.configSet("repl-backlog-size", "16kb");
    }

    /** Writes 300 KB on {@code redis}: far past a 16 KB backlog, so a capture away meanwhile needs a full resync. */
    static void overflowBacklog(RedisCommands<String, String> redis) {
        for (int i = 0; i < 300; i++) {
            redis.set("filler:" + i, "x".repeat(1024));
        }
    }

    /** Starts {@code name}'s capture again (its first restart) and checks that it needed a full resync. */
    static void restartCaptureWithFullResync(MeshUnderTest mesh, String name) {
        mesh.startCapture(name);
        mesh.awaitReady(name, "capture");
        assertEquals(1.0, mesh.metric(name, "capture", "ferry_capture_full_resyncs_total"), name + "'s capture needed a full resync");
    }

    /** What differs between A and the others (for a failure message). */
    static String differences(MeshUnderTest mesh) {
        StringBuilder out = new StringBuilder();
        Keyspace first = Keyspace.of(mesh.redis("A"));
        for (String other : List.of("B", "C")) {
            Keyspace theirs = Keyspace.of(mesh.redis(other));
            out.append("A vs ").append(other).append(": ").append(first.differences(theirs, 1000).stream().limit(10).toList())
                    .append(other).append(" vs A: ").append(theirs.differences(first, 1000).stream().limit(10).toList()).append('\n');
        }
        return out.toString();
    }

    static boolean identical(MeshUnderTest mesh) {
        Keyspace first = Keyspace.of(mesh.redis("A"));
        for (String other : List.of("B", "C")) {
            Keyspace theirs = Keyspace.of(mesh.redis(other));
            if (!first.differences(theirs, 1000).isEmpty() || !theirs.differences(first, 1000).isEmpty()) {
                return false;
            }
        }
        return true;
    }
}
