package io.ferry.e2e.convergence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.e2e.mesh.MeshUnderTest;
import io.ferry.localmesh.Await;
import io.ferry.localmesh.TestServers;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The seeds' conflicting writes, each made truly concurrent: replication into A and B is paused (their
 * apply agents stopped), both write, replication resumes. C keeps applying throughout and receives both
 * writes. Each case has keys of its own; every case is written during one pause, and each test then
 * checks that its class was recorded (by at least one instance) and that A, B and C converge.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SeedConflictClassesTest {

    /** Short enough to wait for, long enough to survive stopping two apply agents before A renews or moves. */
    private static final long TTL_MILLIS = 8_000;
    private static final Duration SETTLE = Duration.ofSeconds(30);

    private MeshUnderTest mesh;
    private Replicas replicas;
    private ConflictLog conflicts;

    @BeforeAll
    void writeEveryCaseConcurrently() {
        mesh = MeshWithPolicies.start(TestServers.kafka(), m -> "", "A", "B", "C");
        replicas = new Replicas(mesh);
        conflicts = new ConflictLog(mesh);
        RedisCommands<String, String> a = replicas.connection("A").sync();
        RedisCommands<String, String> b = replicas.connection("B").sync();

        // what both sides start from, replicated everywhere before the pause
        a.rpush("seed:list", "x1", "x2", "x3");
        a.set("seed:cnt", "10");
        a.set("seed:ttl", "renewed on A", SetArgs.Builder.px(TTL_MILLIS));
        a.sadd("seed:smove:src", "m1", "m2");
        a.pexpire("seed:smove:src", TTL_MILLIS);
        a.sadd("seed:smove:dst", "d1");
        a.hset("seed:fields", "g", "1");
        a.expire("seed:fields", 600);
        a.zadd("seed:multi:zset", 1, "m");
        a.set("seed:multi:cnt", "5");
        for (String name : List.of("B", "C")) {
            Await.equal(Duration.ofSeconds(30), "the starting state on " + name, 8L, () -> replicas.connection(name).sync()
                    .exists("seed:list", "seed:cnt", "seed:ttl", "seed:smove:src", "seed:smove:dst", "seed:fields",
                            "seed:multi:zset", "seed:multi:cnt"));
        }

        pauseReplicationInto("A", "B");
        // value swap
        a.set("seed:swap", "from A");
        b.set("seed:swap", "from B");
        // list order and loss: both push, both pop the same head
        a.rpush("seed:list", "a1");
        a.lpop("seed:list");
        b.rpush("seed:list", "b1");
        b.lpop("seed:list");
        // counter: 10 + 3 * 5 + 7 * 1
        for (int i = 0; i < 3; i++) {
            a.incrby("seed:cnt", 5);
        }
        for (int i = 0; i < 7; i++) {
            b.incr("seed:cnt");
        }
        // type clash: a string on A, a list on B
        a.set("seed:clash", "string on A");
        b.rpush("seed:clash", "list on B");
        // unmet write condition on whichever applies second
        a.setnx("seed:nx", "A");
        b.setnx("seed:nx", "B");
        // distinct fields, but A's HDEL empties the hash (deleting its TTL) before its HSET makes a new one
        a.hdel("seed:fields", "g");
        a.hset("seed:fields", "f1", "A");
        b.hset("seed:fields", "f2", "B");
        // a transaction writing one key twice: its second command decides (ZADD does not commute with ZINCRBY)
        a.multi();
        a.zincrby("seed:multi:zset", 1, "m");
        a.zadd("seed:multi:zset", 49, "m");
        a.exec();
        b.zincrby("seed:multi:zset", 2, "m");
        a.multi();
        a.incr("seed:multi:cnt");
        a.del("seed:multi:cnt");
        a.exec();
        b.incr("seed:multi:cnt");
        // A renews a TTL and moves a member out of a set that expires; B's copies expire before A's writes reach it
        assertTrue(a.pexpireat("seed:ttl", System.currentTimeMillis() + 120_000),
                "seed:ttl expired on A before its renewal: stopping the apply agents took longer than " + TTL_MILLIS + " ms");
        assertTrue(a.smove("seed:smove:src", "seed:smove:dst", "m1"),
                "seed:smove:src expired on A before the SMOVE: stopping the apply agents took longer than " + TTL_MILLIS + " ms");
        Await.until(Duration.ofMillis(TTL_MILLIS + 10_000), "B's copies of seed:ttl and seed:smove:src expired",
                () -> b.exists("seed:ttl", "seed:smove:src") == 0);
        resumeReplicationInto("A", "B");
    }

    @AfterAll
    void stopMesh() {
        if (conflicts != null) {
            conflicts.close();
        }
        if (replicas != null) {
            replicas.close();
        }
        if (mesh != null) {
            mesh.close();
        }
    }

    @Test
    void sameKeySetOnTwoInstancesAtOnceIsAValueConflictAndConverges() {
        assertRecordedAndConverged("seed:swap", Set.of("VALUE"));
    }

    @Test
    void concurrentRpushAndLpopOnOneListAreAListOrderConflictAndConverge() {
        assertRecordedAndConverged("seed:list", Set.of("LIST_ORDER"));
    }

    @Test
    void concurrentIncrementsAreACounterConflictAndCommuteToTheSum() {
        Snapshot agreed = assertRecordedAndConverged("seed:cnt", Set.of("COUNTER"));
        assertEquals("32", agreed.keys().get("seed:cnt").content(), "10 + 3 x INCRBY 5 on A + 7 x INCR on B");
    }

    @Test
    void aStringOnOneInstanceAndAListOnAnotherAreATypeClashAndConverge() {
        assertRecordedAndConverged("seed:clash", Set.of("TYPE_CLASH"));
    }

    @Test
    void setnxOnBothInstancesIsAConditionalWriteConflictAndConverges() {
        assertRecordedAndConverged("seed:nx", Set.of("CONDITIONAL_WRITE"));
    }

    @Test
    void aPexpireatRenewalArrivingAfterThePeerExpiredTheKeyIsATtlConflictAndConverges() {
        assertRecordedAndConverged("seed:ttl", Set.of("TTL"));
    }

    @Test
    void removingOneFieldWhileAnotherIsAddedIsAMemberConflictAndConvergesWithTheTtl() {
        assertRecordedAndConverged("seed:fields", Set.of("MEMBER"));
    }

    @Test
    void aTransactionThatWritesAKeyTwiceIsJudgedByEveryCommandAndConverges() {
        assertRecordedAndConverged("seed:multi:zset", Set.of("MEMBER"));
        assertRecordedAndConverged("seed:multi:cnt", Set.of("DELETE_WRITE"));
    }

    /**
     * The seeds call this a TTL race; on the peer it is also an SMOVE that did nothing (its source is gone),
     * which an apply agent sees in the reply as an unmet write condition. Either class tells the story.
     */
    @Test
    void anSmoveWhoseSourceExpiredOnThePeerIsRecordedAndConverges() {
        assertRecordedAndConverged("seed:smove:", Set.of("TTL", "CONDITIONAL_WRITE"));
    }

    /** Both checks run and both outcomes are reported: a case that diverges also says what was recorded for it. */
    private Snapshot assertRecordedAndConverged(String prefix, Set<String> classes) {
        Snapshot agreed = null;
        AssertionError diverged = null;
        try {
            agreed = replicas.awaitIdentical(prefix, SETTLE, Duration.ofSeconds(1), prefix);
        } catch (AssertionError e) {
            diverged = e;
        }
        // conflicts are recorded as the writes are applied: once converged (or given up on) they are all there soon
        long deadline = System.nanoTime() + (diverged == null ? SETTLE : Duration.ofSeconds(3)).toNanos();
        List<ConflictLog.Entry> recorded;
        boolean found;
        do {
            recorded = conflicts.read(e -> e.key().startsWith(prefix));
            found = recorded.stream().anyMatch(e -> classes.contains(e.type()));
            if (!found) {
                Replicas.sleepQuietly(200);
            }
        } while (!found && System.nanoTime() < deadline);
        recorded.forEach(System.out::println);
        if (found && diverged == null) {
            return agreed;
        }
        throw new AssertionError((found ? "" : "no " + classes + " conflict recorded for " + prefix + "* by any instance; recorded for it: "
                + (recorded.isEmpty() ? "nothing" : recorded.stream().map(ConflictLog.Entry::toString).toList()) + "\n")
                + (diverged == null ? "" : diverged.getMessage()), diverged);
    }

    /** Stops the apply agents of {@code names} (SIGTERM, a clean stop), together. */
    private void pauseReplicationInto(String... names) {
        long start = System.nanoTime();
        CompletableFuture.allOf(Arrays.stream(names)
                .map(name -> CompletableFuture.runAsync(() -> mesh.apply(name).stop())).toArray(CompletableFuture[]::new)).join();
        System.out.printf("apply agents of %s stopped in %d ms%n", List.of(names), (System.nanoTime() - start) / 1_000_000);
    }

    private void resumeReplicationInto(String... names) {
        for (String name : names) {
            mesh.startApply(name);
        }
        for (String name : names) {
            mesh.awaitReady(name, "apply");
        }
    }
}
