package io.ferry.apply.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.localmesh.TestTls;
import io.ferry.topology.RedisEndpoint;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class RedisTargetClientTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private static String text(Object reply) {
        return new String((byte[]) reply, StandardCharsets.UTF_8);
    }

    private static RedisEndpoint plain(RedisServer redis, String user, String password) {
        return new RedisEndpoint("127.0.0.1", redis.port(), false, user, password);
    }

    @Test
    void pipelinedTransactionsKeepEveryReplyInPlace() {
        RedisServer redis = TestServers.redis();
        try (RedisTargetClient client = new RedisTargetClient(plain(redis, null, null), TIMEOUT, "ferry-test")) {
            client.connect();
            byte[] big = "v".repeat(300_000).getBytes(StandardCharsets.UTF_8);
            List<TransactionReply> replies = client.execute(List.of(
                    List.of(RawCommand.of("SET", "s", "x"), RawCommand.of("INCR", "s"), RawCommand.of("SET", "big".getBytes(), big),
                            RawCommand.of("SET", "s", "y", "NX")),
                    List.of(RawCommand.of("SET", "t", "1"), RawCommand.of("NOSUCHCOMMAND", "t"))));
            TransactionReply first = replies.get(0);
            assertTrue(first.committed());
            assertEquals("OK", text(first.results().get(0)));
            assertInstanceOf(RedisError.class, first.results().get(1), "an error inside EXEC is one value among the results");
            assertTrue(Reply.isNil(first.results().get(3)), "SET NX on an existing key answers nil");
            TransactionReply second = replies.get(1);
            assertFalse(second.committed());
            assertEquals("EXECABORT", second.execError().code());
            assertEquals("QUEUED", text(second.queued().get(0)));
            assertInstanceOf(RedisError.class, second.queued().get(1));
            assertArrayEquals(big, (byte[]) client.call(RawCommand.of("GET", "big")));
            assertEquals(-1L, client.call(RawCommand.of("TTL", "s")));
            assertEquals(List.of(), client.call(RawCommand.of("KEYS", "nothing*")));
        }
    }

    @Test
    void logsInAsAnAclUserAndRefusesAWrongPassword() {
        RedisServer redis = TestServers.redis();
        try (RedisTargetClient admin = new RedisTargetClient(plain(redis, null, null), TIMEOUT, "ferry-admin")) {
            admin.connect();
            assertEquals("OK", text(admin.call(RawCommand.of("ACL", "SETUSER", "ferry", "on", ">s3cret", "~*", "&*", "+@all"))));
        }
        try (RedisTargetClient client = new RedisTargetClient(plain(redis, "ferry", "s3cret"), TIMEOUT, "ferry-test")) {
            client.connect();
            assertEquals("ferry", text(client.call(RawCommand.of("ACL", "WHOAMI"))));
        }
        try (RedisTargetClient client = new RedisTargetClient(plain(redis, "ferry", "wrong"), TIMEOUT, "ferry-test")) {
            RedisUnavailableException refused = assertThrows(RedisUnavailableException.class, client::connect);
            assertFalse(refused.getMessage().contains("wrong"), "the password never shows in messages");
            assertFalse(client.isConnected());
        }
    }

    @Test
    void speaksTlsAndChecksTheServerCertificate() {
        TestTls tls = TestTls.create();
        TestTls.TlsRedis redis = tls.redis();
        RedisEndpoint endpoint = new RedisEndpoint("127.0.0.1", redis.tlsPort(), true, null, null);
        try (RedisTargetClient client = new RedisTargetClient(endpoint, TIMEOUT, "ferry-test", tls.socketFactory())) {
            client.connect();
            TransactionReply reply = client.execute(List.of(List.of(RawCommand.of("SET", "k", "v")))).get(0);
            assertTrue(reply.committed());
            assertEquals("v", text(client.call(RawCommand.of("GET", "k"))));
        }
        try (RedisTargetClient untrusting = new RedisTargetClient(endpoint, TIMEOUT, "ferry-test")) {
            assertThrows(RedisUnavailableException.class, untrusting::connect, "a certificate the JVM does not trust is refused");
        }
        RedisEndpoint otherHost = new RedisEndpoint("localhost", redis.tlsPort(), true, null, null);
        try (RedisTargetClient wrongName = new RedisTargetClient(otherHost, TIMEOUT, "ferry-test", tls.socketFactory())) {
            assertThrows(RedisUnavailableException.class, wrongName::connect, "a certificate for another host is refused");
        }
    }
}
