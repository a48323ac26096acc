package io.ferry.apply.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.RedisClusterServers;
import io.ferry.localmesh.TestServers;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.topology.RedisEndpoint;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The apply agent's MULTI/EXEC on a real 3-master Redis Cluster while slots move: each runs whole, exactly once. */
class ClusterTransactionsTest {

    static RedisClusterServers cluster;

    @BeforeAll
    static void startCluster() {
        cluster = TestServers.redisCluster(3);
    }

    private static RedisTargetClient client() {
        RedisTargetClient client = new RedisTargetClient(new RedisEndpoint("127.0.0.1", cluster.node(0).port(), false, null, null, true),
                Duration.ofSeconds(5), "ferry-apply-test");
        client.connect();
        return client;
    }

    /** {@code INCR} of every key, then a checkpoint in the same slot, as one transaction. */
    private static List<RawCommand> incrementAll(String tag, String... keys) {
        List<RawCommand> body = new java.util.ArrayList<>();
        for (String key : keys) {
            body.add(RawCommand.of("INCR", "{" + tag + "}" + key));
        }
        body.add(RawCommand.of("SET", "__ferry:ckpt:{" + tag + "}:p:0", "1"));
        return body;
    }

    private static String get(RedisTargetClient client, String key) {
        Object value = client.call(RawCommand.of("GET", key));
        return value instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : String.valueOf(value);
    }

    private static int slot(String tag) {
        return HashSlot.of(("{" + tag + "}").getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void transactionsOfManySlotsRunWholeOnTheirMasters() {
        try (RedisTargetClient client = client()) {
            List<TransactionReply> replies = client.execute(List.of(incrementAll("s1", "a", "b"), incrementAll("s2", "a"),
                    incrementAll("s3", "a"), incrementAll("s1", "a")));
            replies.forEach(reply -> assertTrue(reply.committed(), reply.toString()));
            assertEquals("2", get(client, "{s1}a"));
            assertEquals("1", get(client, "{s1}b"));
            assertEquals("1", get(client, "{s3}a"));
        }
    }

    @Test
    void aTransactionForASlotThatMovedFollowsMovedAndRunsOnce() {
        try (RedisTargetClient client = client()) {
            client.execute(List.of(incrementAll("mv", "a", "b")));
            int from = cluster.ownerOf(slot("mv"));
            cluster.moveSlot(slot("mv"), from, (from + 1) % 3); // the client's slot map still names the old owner
            TransactionReply reply = client.execute(List.of(incrementAll("mv", "a", "b"))).get(0);
            assertTrue(reply.committed(), reply.toString());
            assertEquals("2", get(client, "{mv}a"));
            assertEquals("2", get(client, "{mv}b"));
        }
    }

    @Test
    void aTransactionWhoseKeysAlreadyMigratedIsSentWholeAfterAsking() {
        try (RedisTargetClient client = client()) {
            client.execute(List.of(incrementAll("ask", "a", "b")));
            int slot = slot("ask");
            int from = cluster.ownerOf(slot);
            int to = (from + 1) % 3;
            cluster.beginSlotMove(slot, from, to);
            cluster.migrateKeys(from, to, List.of("{ask}a", "{ask}b", "__ferry:ckpt:{ask}:p:0"));
            TransactionReply reply = client.execute(List.of(incrementAll("ask", "a", "b"))).get(0);
            assertTrue(reply.committed(), reply.toString());
            cluster.finishSlotMove(slot, to);
            assertEquals("2", get(client, "{ask}a"));
            assertEquals("2", get(client, "{ask}b"));
        }
    }

    @Test
    void aTransactionOverAHalfMigratedSlotWaitsThroughTryAgainAndRunsOnce() throws Exception {
        try (RedisTargetClient client = client()) {
            client.execute(List.of(incrementAll("half", "a", "b")));
            int slot = slot("half");
            int from = cluster.ownerOf(slot);
            int to = (from + 2) % 3;
            cluster.beginSlotMove(slot, from, to);
            cluster.migrateKeys(from, to, List.of("{half}a")); // {half}b and the checkpoint still on the old owner
            Thread finisher = new Thread(() -> {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                cluster.migrateKeys(from, to, List.of("{half}b", "__ferry:ckpt:{half}:p:0"));
                cluster.finishSlotMove(slot, to);
            });
            finisher.start();
            TransactionReply reply = client.execute(List.of(incrementAll("half", "a", "b"))).get(0);
            finisher.join();
            assertTrue(reply.committed(), reply.toString());
            assertEquals("2", get(client, "{half}a"));
            assertEquals("2", get(client, "{half}b"));
        }
    }

    @Test
    void aTransactionSpanningSlotsIsRefusedBeforeAnythingIsSent() {
        try (RedisTargetClient client = client()) {
            List<RawCommand> crossSlot = List.of(RawCommand.of("INCR", "x1"), RawCommand.of("INCR", "x2"));
            assertTrue(HashSlot.of("x1".getBytes()) != HashSlot.of("x2".getBytes()));
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> client.execute(List.of(crossSlot)));
        }
    }

    @Test
    void aCommandRoutedByTheWrongKeyComesBackAsAnAbortedTransactionInsteadOfLooping() {
        try (RedisTargetClient client = client()) {
            // Ferry takes OBJECT's first argument (ENCODING) as its key; Redis routes it by the next one
            int routedBy = HashSlot.of("ENCODING".getBytes(StandardCharsets.UTF_8));
            String elsewhere = java.util.stream.IntStream.range(0, 100).mapToObj(i -> "k" + i)
                    .filter(k -> cluster.ownerOf(HashSlot.of(k.getBytes(StandardCharsets.UTF_8))) != cluster.ownerOf(routedBy))
                    .findFirst().orElseThrow();
            List<RawCommand> body = List.of(RawCommand.of("OBJECT", "ENCODING", elsewhere),
                    RawCommand.of("SET", "__ferry:ckpt:{" + HashSlot.tag(routedBy) + "}:p:0", "7"));
            TransactionReply reply = client.execute(List.of(body)).get(0);
            assertTrue(!reply.committed() && "EXECABORT".equals(reply.execError().code()), reply.toString());
            assertTrue(reply.queued().get(0) instanceof RedisError error && "MOVED".equals(error.code()), reply.toString());
        }
    }

    /**
     * A resync's watched transactions: two of one master each hold their WATCH on a connection of their own (the first
     * EXEC does not end the second's WATCH), a write after the WATCH aborts its transaction, a slot moved after the
     * WATCH turns its transaction away unrun (not sent on to the new owner), and a WATCH of a half-migrated slot is not
     * taken at all.
     */
    @Test
    void watchedTransactionsHoldTheirOwnWatchAndASlotMoveTurnsThemAwayUnrun() {
        try (RedisTargetClient client = client()) {
            List<String> tags = java.util.stream.IntStream.range(0, 1000).mapToObj(i -> "w" + i)
                    .filter(t -> cluster.ownerOf(slot(t)) == cluster.ownerOf(slot("w0"))).limit(2).toList();
            String first = tags.get(0);
            String second = tags.get(1);
            client.execute(List.of(incrementAll(first, "a"), incrementAll(second, "a")));
            RedisTargetClient.Watch firstWatch = client.watch(java.util.Map.of(0, List.of(utf8("{" + first + "}a"))));
            RedisTargetClient.Watch secondWatch = client.watch(java.util.Map.of(0, List.of(utf8("{" + second + "}a"))));
            assertTrue(firstWatch.held() && secondWatch.held());
            client.call(RawCommand.of("INCR", "{" + second + "}a")); // a client's write after the WATCH
            List<TransactionReply> replies = client.executeWatched(List.of(incrementAll(first, "a"), incrementAll(second, "a")),
                    List.of(firstWatch, secondWatch));
            assertTrue(replies.get(0).committed(), replies.toString());
            assertTrue(replies.get(1).aborted(), "the write after the WATCH aborts the second: " + replies);
            assertEquals("2", get(client, "{" + first + "}a"));
            assertEquals("2", get(client, "{" + second + "}a"), "the client's INCR only");

            RedisTargetClient.Watch beforeMove = client.watch(java.util.Map.of(0, List.of(utf8("{" + first + "}a"))));
            int from = cluster.ownerOf(slot(first));
            cluster.moveSlot(slot(first), from, (from + 1) % 3);
            TransactionReply turnedAway = client.executeWatched(List.of(incrementAll(first, "a")), List.of(beforeMove)).get(0);
            assertTrue(turnedAway.aborted(), turnedAway.toString());
            assertEquals("2", get(client, "{" + first + "}a"), "not sent on to the new owner");
            RedisTargetClient.Watch afterMove = client.watch(java.util.Map.of(0, List.of(utf8("{" + first + "}a"))));
            if (!afterMove.held()) {
                afterMove = client.watch(java.util.Map.of(0, List.of(utf8("{" + first + "}a")))); // the slot map read again
            }
            assertTrue(client.executeWatched(List.of(incrementAll(first, "a")), List.of(afterMove)).get(0).committed());
            assertEquals("3", get(client, "{" + first + "}a"));

            String half = "w-half";
            client.execute(List.of(incrementAll(half, "a")));
            int owner = cluster.ownerOf(slot(half));
            int to = (owner + 2) % 3;
            cluster.beginSlotMove(slot(half), owner, to);
            cluster.migrateKeys(owner, to, List.of("{" + half + "}a"));
            RedisTargetClient.Watch moving = client.watch(java.util.Map.of(0, List.of(utf8("{" + half + "}a"))));
            assertTrue(!moving.held() && moving.slotMoving(), "the key has left its old owner: ASK, nothing watched");
            cluster.migrateKeys(owner, to, List.of("__ferry:ckpt:{" + half + "}:p:0"));
            cluster.finishSlotMove(slot(half), to);
        }
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
