package io.ferry.apply.resync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.apply.redis.RawCommand;
import io.ferry.apply.redis.RedisTargetClient;
import io.ferry.apply.redis.TransactionReply;
import io.ferry.localmesh.RedisBinary;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.topology.RedisEndpoint;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The rebuild of a kept key on real Redis 6.2 and 7.0, inside a MULTI/EXEC as the apply agent sends it. */
class KeyRebuildTest {

    static Stream<RedisBinary> versions() {
        return Stream.of(TestServers.redis62(), TestServers.redis70());
    }

    private static RedisTargetClient connected(RedisBinary binary) {
        RedisServer redis = TestServers.redis(binary);
        RedisTargetClient client = new RedisTargetClient(new RedisEndpoint("127.0.0.1", redis.port(), false, null, null),
                Duration.ofSeconds(10), "ferry-test");
        client.connect();
        return client;
    }

    /** The snapshot's plain RESTORE of {@code key} holding what {@code key} holds now (its DUMP), absolute TTL 0. */
    private static RawCommand snapshotRestore(RedisTargetClient client, String key) {
        byte[] dump = (byte[]) client.call(RawCommand.of("DUMP", key));
        return new RawCommand("RESTORE", List.of(b(key), b("0"), dump));
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(Object reply) {
        return new String((byte[]) reply, StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("versions")
    void theOriginsCopyThenTheWritesItHadNotAppliedInTheirOrder(RedisBinary binary) {
        try (RedisTargetClient client = connected(binary)) {
            // the resynced origin's copies: its gap writes are in them
            client.call(RawCommand.of("SET", "counter", "105"));
            client.call(RawCommand.of("RPUSH", "list", "seed", "a1", "a2"));
            RawCommand counterCopy = snapshotRestore(client, "counter");
            RawCommand listCopy = snapshotRestore(client, "list");
            // this instance's copies: its own writes the origin had not applied, without the origin's gap writes
            client.call(RawCommand.of("SET", "counter", "103"));
            client.call(RawCommand.of("DEL", "list"));
            client.call(RawCommand.of("RPUSH", "list", "seed", "b1", "b2"));

            List<RawCommand> counterWrites = List.of(RawCommand.of("INCR", "counter"), RawCommand.of("INCRBY", "counter", "2"),
                    RawCommand.of("RPUSH", "counter", "x")); // fails here as on the origin: skipped, the others stay
            List<RawCommand> listWrites = List.of(RawCommand.of("RPUSH", "list", "b1"), RawCommand.of("RPUSH", "list", "b2"),
                    RawCommand.of("LSET", "list", "0", "first"));
            List<RawCommand> transaction = new ArrayList<>();
            transaction.add(KeyRebuild.command(counterCopy, counterWrites));
            transaction.add(KeyRebuild.command(listCopy, listWrites));
            TransactionReply reply = client.execute(List.of(transaction)).get(0);

            assertTrue(reply.committed());
            assertEquals(1L, reply.results().get(0), "the failed replayed write is counted");
            assertEquals(0L, reply.results().get(1));
            assertEquals("108", text(client.call(RawCommand.of("GET", "counter"))), "the origin's 105 and this instance's +3");
            List<String> list = ((List<?>) client.call(RawCommand.of("LRANGE", "list", "0", "-1"))).stream().map(KeyRebuildTest::text).toList();
            assertEquals(List.of("first", "a1", "a2", "b1", "b2"), list, "the origin's elements, then this instance's, in order");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("versions")
    void keepsTheCopysAbsoluteExpiryAndReplaysExpiryWrites(RedisBinary binary) {
        try (RedisTargetClient client = connected(binary)) {
            long at = System.currentTimeMillis() + 600_000;
            client.call(RawCommand.of("SET", "v", "origin"));
            byte[] dump = (byte[]) client.call(RawCommand.of("DUMP", "v"));
            RawCommand copy = new RawCommand("RESTORE", List.of(b("v"), b(Long.toString(at)), dump, b("ABSTTL")));
            client.call(RawCommand.of("SET", "v", "here"));

            client.execute(List.of(List.of(KeyRebuild.command(copy, List.of(RawCommand.of("APPEND", "v", "+here")))))).get(0);
            assertEquals("origin+here", text(client.call(RawCommand.of("GET", "v"))));
            long expiry = (Long) client.call(RawCommand.of("PTTL", "v"));
            assertTrue(expiry > 500_000 && expiry <= 600_000, "the copy's absolute expiry kept: " + expiry);

            client.execute(List.of(List.of(KeyRebuild.command(copy, List.of(RawCommand.of("PERSIST", "v")))))).get(0);
            assertEquals(-1L, client.call(RawCommand.of("PTTL", "v")), "a PERSIST made here is replayed on the copy");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("versions")
    void aKeyThePeerDoesNotHaveIsRebuiltFromTheWritesAlone(RedisBinary binary) {
        try (RedisTargetClient client = connected(binary)) {
            client.call(RawCommand.of("RPUSH", "l", "old", "b1"));
            TransactionReply reply = client.execute(List.of(List.of(KeyRebuild.fromNothing(b("l"),
                    List.of(RawCommand.of("RPUSH", "l", "b1")))))).get(0);
            assertTrue(reply.committed());
            List<String> list = ((List<?>) client.call(RawCommand.of("LRANGE", "l", "0", "-1"))).stream().map(KeyRebuildTest::text).toList();
            assertEquals(List.of("b1"), list, "the peer deleted it in its gap: only the writes it had not applied remain");
        }
    }

    @org.junit.jupiter.api.Test
    void nothingToRebuildFromAChunkedCopyOrWithoutWrites() {
        assertNull(KeyRebuild.fromNothing(b("k"), List.of()));
        RawCommand restore = new RawCommand("RESTORE", List.of(b("k"), b("0"), b("payload")));
        assertNull(KeyRebuild.command(restore, List.of()), "no write to replay: a plain replacement");
        assertNull(KeyRebuild.command(restore, null), "writes that cannot be replayed: the key is kept");
        assertNull(KeyRebuild.command(new RawCommand("EVAL", List.of(b("script"), b("1"), b("stage"))),
                List.of(RawCommand.of("INCR", "k"))), "a key restored from its stage is kept");
    }
}
