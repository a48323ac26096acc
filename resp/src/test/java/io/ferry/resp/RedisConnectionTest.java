package io.ferry.resp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.RedisBinary;
import io.ferry.localmesh.RedisServer;
import io.ferry.topology.RedisEndpoint;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Against a real redis-server with an ACL user. */
class RedisConnectionTest {

    @TempDir
    Path dir;

    @Test
    void logsInAsTheAclUserNamesTheConnectionAndPipelinesARound() throws Exception {
        try (RedisServer redis = RedisServer.start(RedisBinary.preferred(), dir, "--user", "ferry", "on", ">s3cret", "~*", "+@all");
             RedisConnection connection = RedisConnection.open(new RedisEndpoint("127.0.0.1", redis.port(), false, "ferry", "s3cret"),
                     5000, null, "ferry-test-client")) {
            RespMessage whoami = connection.call("ACL", "WHOAMI");
            assertEquals("ferry", new String(assertInstanceOf(RespMessage.BulkString.class, whoami).bytes(), StandardCharsets.UTF_8));
            RespMessage name = connection.call("CLIENT", "GETNAME");
            assertEquals("ferry-test-client", new String(((RespMessage.BulkString) name).bytes(), StandardCharsets.UTF_8));

            RespBuffer round = new RespBuffer();
            for (int i = 0; i < 1000; i++) {
                round.command("RPUSH", List.of("list".getBytes(StandardCharsets.US_ASCII), Integer.toString(i).getBytes(StandardCharsets.US_ASCII)));
            }
            connection.write(round);
            for (int i = 0; i < 1000; i++) {
                assertEquals(i + 1, ((RespMessage.Integer) connection.readReply()).value(), "replies in order");
            }
        }
    }

    @Test
    void aRefusedPasswordIsAReplyErrorThatNeverShowsThePassword() throws Exception {
        try (RedisServer redis = RedisServer.start(RedisBinary.preferred(), dir, "--user", "ferry", "on", ">right-one", "~*", "+@all")) {
            RedisReplyException refused = assertThrows(RedisReplyException.class, () -> RedisConnection.open(
                    new RedisEndpoint("127.0.0.1", redis.port(), false, "ferry", "wrong-one"), 5000));
            assertTrue(refused.getMessage().contains("WRONGPASS") || refused.getMessage().contains("invalid"), refused.getMessage());
            assertFalse(refused.getMessage().contains("wrong-one"), refused.getMessage());
            assertFalse(refused.accessDenied(), "a wrong password is not an ACL permission");
        }
    }

    @Test
    void roleTellsAMasterAndItsOffsetFromAReplica() throws Exception {
        try (RedisServer master = RedisServer.start(RedisBinary.preferred(), dir.resolve("master"));
             RedisServer replica = RedisServer.start(RedisBinary.preferred(), dir.resolve("replica"), "--replicaof", "127.0.0.1",
                     Integer.toString(master.port()));
             RedisConnection toMaster = RedisConnection.open(new RedisEndpoint("127.0.0.1", master.port(), false, null, null), 5000);
             RedisConnection toReplica = RedisConnection.open(new RedisEndpoint("127.0.0.1", replica.port(), false, null, null), 5000)) {
            toMaster.call("SET", "k", "v");
            Role role = Role.of(toMaster);
            assertTrue(role.master(), role.toString());
            assertTrue(role.masterOffset() >= 0, role.toString());
            Role replicaRole = Role.of(toReplica);
            assertEquals("slave", replicaRole.name());
            assertFalse(replicaRole.master());
        }
    }

    @Test
    void aSilentServerTimesOutTheRead() throws Exception {
        try (RedisServer redis = RedisServer.start(RedisBinary.preferred(), dir);
             RedisConnection connection = RedisConnection.open(new RedisEndpoint("127.0.0.1", redis.port(), false, null, null), 300)) {
            assertThrows(SocketTimeoutException.class, () -> connection.call("BLPOP", "nothing-here", "0"));
        }
    }
}
