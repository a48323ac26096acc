package io.ferry.apply.convergence;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.apply.redis.CommandKeys;
import io.ferry.apply.redis.RawCommand;
import io.ferry.apply.redis.RedisError;
import io.ferry.apply.redis.TransactionReply;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.Command;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.conflict.RepublishScript;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RepairTransactionTest {

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Keys of every shape: plain, hash-tagged, an empty tag (hashes the whole key), binary. */
    private static List<byte[]> keys() {
        List<byte[]> keys = new ArrayList<>(List.of(utf8("k"), utf8("{user1}:cart"), utf8("a{}b"), utf8("x{y"), utf8(""), new byte[] {0, -1, '{', 7, '}'}));
        Random random = new Random(42);
        for (int i = 0; i < 200; i++) {
            byte[] key = new byte[1 + random.nextInt(20)];
            random.nextBytes(key);
            keys.add(key);
        }
        return keys;
    }

    @Test
    void theRepairTimeKeyIsInTheRepairedKeysSlotAndRecognisedByTheCapture() {
        for (byte[] key : keys()) {
            byte[] timeKey = RepairTransaction.timeKey(key, false);
            assertEquals(HashSlot.of(key), HashSlot.of(timeKey), text(timeKey));
            assertTrue(ReplicationPolicy.isRepairTimeKey(timeKey), text(timeKey));
            assertTrue(ReplicationPolicy.isReservedKey(timeKey));
        }
    }

    @Test
    void everyFormOfRepairIsOneTransactionInTheKeysSlot() {
        Command set = new Command("SET", List.of(ByteBuffer.wrap(utf8("{user1}:cart")), ByteBuffer.wrap(utf8("v"))));
        byte[] key = utf8("{user1}:cart");
        List<List<RawCommand>> bodies = List.of(RepairTransaction.body(key, set, 1_700_000_000_123L, false),
                RepairTransaction.body(key, null, 1_700_000_000_123L, false), RepairTransaction.body(key, null, 0, false));
        for (List<RawCommand> body : bodies) {
            for (RawCommand command : body) {
                List<byte[]> keys = CommandKeys.of(command);
                assertTrue(!keys.isEmpty(), command.name());
                keys.forEach(k -> assertEquals(HashSlot.of(key), HashSlot.of(k), command.name() + " " + text(k)));
            }
        }
    }

    @Test
    void aWinningWriteRunsAgainFollowedByItsSourceTime() {
        Command set = new Command("SET", List.of(ByteBuffer.wrap(utf8("k")), ByteBuffer.wrap(utf8("v"))));
        List<RawCommand> body = RepairTransaction.body(utf8("k"), set, 1_700_000_000_123L, false);
        assertEquals(2, body.size());
        assertEquals("SET", body.get(0).name());
        assertEquals(List.of("k", "v"), body.get(0).args().stream().map(RepairTransactionTest::text).toList());
        assertEquals("SET", body.get(1).name());
        assertArrayEquals(RepairTransaction.timeKey(utf8("k"), false), body.get(1).args().get(0));
        assertEquals("1700000000123", text(body.get(1).args().get(1)));
    }

    @Test
    void aValueIsRepublishedByTheScriptWhichStampsTheTimeOnlyWhenItIsKnown() {
        byte[] key = utf8("list:1");
        RawCommand timed = RepairTransaction.body(key, null, 1_700_000_000_123L, false).get(0);
        assertEquals("EVAL", timed.name());
        assertEquals(List.of(RepublishScript.LUA, "2", "list:1", text(RepairTransaction.timeKey(key, false)), "1700000000123"),
                timed.args().stream().map(RepairTransactionTest::text).toList());
        RawCommand untimed = RepairTransaction.body(key, null, 0, false).get(0);
        assertEquals(List.of(RepublishScript.LUA, "1", "list:1"), untimed.args().stream().map(RepairTransactionTest::text).toList());
    }

    @Test
    void theOutcomeIsTheFirstErrorElseTheRepairingCommandsReply() {
        byte[] queued = utf8("QUEUED");
        byte[] ok = utf8("OK");
        assertSame(ok, RepairTransaction.outcome(new TransactionReply(List.of(queued, queued), List.of(ok, utf8("OK")))));
        RedisError refused = new RedisError("ERR unknown command");
        RedisError abort = new RedisError("EXECABORT Transaction discarded because of previous errors.");
        assertSame(refused, RepairTransaction.outcome(new TransactionReply(List.of(refused, queued), abort)));
        assertSame(abort, RepairTransaction.outcome(new TransactionReply(List.of(queued), abort)));
        RedisError failed = new RedisError("OOM command not allowed");
        assertSame(failed, RepairTransaction.outcome(new TransactionReply(List.of(queued, queued), List.of(ok, failed))));
        assertEquals(1L, RepairTransaction.outcome(new TransactionReply(List.of(queued), List.of(1L))));
    }
}
