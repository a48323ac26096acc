package io.ferry.e2e.convergence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.e2e.mesh.MeshUnderTest;
import io.ferry.localmesh.TestServers;
import io.lettuce.core.RedisFuture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Writes to one key from several instances that are causally ordered (each writer has already applied
 * the previous write) are never conflicts: 1,000 rounds of "one instance writes, another sees it and
 * writes the same key", on a few keys reused across rounds (SET on six strings, RPUSH on four lists)
 * and every pair of three instances. No conflict may be recorded, and every instance ends with every
 * write, in order.
 */
class CausalRoundsTest {

    private static final int ROUNDS = 1000;
    private static final int STRING_KEYS = 6;
    private static final int LIST_KEYS = 4;
    /**
     * Round r of a key is written first by the pair's first instance, then by its second; the pairs
     * follow each other so that consecutive writes to a key always come from two different instances
     * (A B, C A, B C, A B, …) and the third instance of each step may receive the two out of order.
     */
    private static final String[][] PAIRS = {{"A", "B"}, {"C", "A"}, {"B", "C"}};
    private static final Duration SEE_WITHIN = Duration.ofSeconds(10);

    /** One key's sequence of writes; each waits until its writer's instance shows the previous one. */
    private static final class Chain {
        final String key;
        final boolean list;
        final List<String> writers = new ArrayList<>();
        final List<String> values = new ArrayList<>();
        int next;
        long previousWrittenAt;
        RedisFuture<String> check;

        Chain(String key, boolean list) {
            this.key = key;
            this.list = list;
        }

        boolean done() {
            return next == writers.size();
        }
    }

    @Test
    void causallyOrderedWritesToOneKeyFromEveryPairOfInstancesAreNeverConflicts() {
        try (MeshUnderTest mesh = MeshWithPolicies.start(TestServers.kafka(), m -> "", "A", "B", "C");
                Replicas replicas = new Replicas(mesh);
                ConflictLog conflicts = new ConflictLog(mesh)) {
            List<Chain> chains = new ArrayList<>();
            for (int k = 0; k < STRING_KEYS + LIST_KEYS; k++) {
                chains.add(k < STRING_KEYS ? new Chain("causal:str:" + k, false) : new Chain("causal:list:" + k, true));
            }
            for (int round = 0; round < ROUNDS; round++) {
                Chain chain = chains.get(round % chains.size());
                String[] pair = PAIRS[(round / chains.size() + round % chains.size()) % PAIRS.length];
                for (String writer : pair) {
                    chain.values.add(writer + "-" + chain.writers.size());
                    chain.writers.add(writer);
                }
            }

            long start = System.nanoTime();
            List<Long> hops = run(chains, replicas);
            long elapsed = (System.nanoTime() - start) / 1_000_000;
            long[] sorted = hops.stream().mapToLong(Long::longValue).sorted().toArray();
            System.out.printf("%d causal rounds (%d writes on %d keys) in %d ms; write-to-seen-on-the-next-writer "
                            + "median %.1f ms, p99 %.1f ms, max %.1f ms%n", ROUNDS, ROUNDS * 2, chains.size(), elapsed,
                    sorted[sorted.length / 2] / 1e6, sorted[(int) (sorted.length * 0.99)] / 1e6, sorted[sorted.length - 1] / 1e6);

            Snapshot agreed = replicas.awaitIdentical("causal:", Duration.ofSeconds(10), Duration.ofSeconds(1), "causal rounds");
            for (Chain chain : chains) {
                Snapshot.Value value = agreed.keys().get(chain.key);
                Object expected = chain.list ? chain.values : chain.values.get(chain.values.size() - 1);
                assertTrue(value != null, chain.key + " missing");
                assertEquals(expected, value.content(), chain.key + ": every write, in order");
            }
            List<ConflictLog.Entry> recorded = conflicts.read();
            System.out.printf("conflicts: %s%n", ConflictLog.countByClassAndResolution(recorded));
            assertEquals(List.of(), recorded.stream().limit(20).map(ConflictLog.Entry::toString).toList(),
                    "causally ordered writes are not concurrent; " + recorded.size() + " conflicts recorded");
        }
    }

    /**
     * Advances every chain as far as replication allows, pipelined: each sweep asks every waiting
     * writer's instance for the key at once, then makes the writes whose previous write has arrived.
     * Returns, per write after the first, how long the previous one took to appear on its writer's instance.
     */
    private static List<Long> run(List<Chain> chains, Replicas replicas) {
        List<Long> hops = new ArrayList<>();
        while (chains.stream().anyMatch(c -> !c.done())) {
            for (Chain chain : chains) {
                if (!chain.done() && chain.next > 0) {
                    var redis = replicas.connection(chain.writers.get(chain.next)).async();
                    chain.check = chain.list ? redis.lindex(chain.key, -1) : redis.get(chain.key);
                }
            }
            List<RedisFuture<?>> writes = new ArrayList<>();
            List<Chain> advanced = new ArrayList<>();
            long now = System.nanoTime();
            for (Chain chain : chains) {
                if (chain.done()) {
                    continue;
                }
                if (chain.next > 0) {
                    String seen = await(chain.check);
                    if (!chain.values.get(chain.next - 1).equals(seen)) {
                        if (now - chain.previousWrittenAt > SEE_WITHIN.toNanos()) {
                            throw new AssertionError(chain.key + ": " + chain.writers.get(chain.next) + " did not see "
                                    + chain.writers.get(chain.next - 1) + "'s write '" + chain.values.get(chain.next - 1)
                                    + "' within " + SEE_WITHIN + "; it shows '" + seen + "' (write " + chain.next + " of "
                                    + chain.writers.size() + ")");
                        }
                        continue;
                    }
                    hops.add(now - chain.previousWrittenAt);
                }
                var redis = replicas.connection(chain.writers.get(chain.next)).async();
                String value = chain.values.get(chain.next);
                writes.add(chain.list ? redis.rpush(chain.key, value) : redis.set(chain.key, value));
                advanced.add(chain);
                chain.next++;
            }
            writes.forEach(CausalRoundsTest::await);
            long written = System.nanoTime();
            advanced.forEach(c -> c.previousWrittenAt = written);
            if (writes.isEmpty()) {
                LockSupport.parkNanos(500_000); // nothing has arrived yet: ask again in half a millisecond
            }
        }
        return hops;
    }

    private static <T> T await(RedisFuture<T> future) {
        try {
            return future.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new AssertionError("Redis command failed: " + e, e);
        }
    }
}
