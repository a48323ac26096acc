package io.ferry.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.RedisBinary;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class CaptureDataTypesTest {

    static Stream<RedisBinary> redisVersions() {
        return Stream.of(TestServers.redis62(), TestServers.redis70());
    }

    @ParameterizedTest(name = "Redis {0}")
    @MethodSource("redisVersions")
    void everyDataTypeArrivesAsThePropagatedCommandsInOrderInTheRightDb(RedisBinary binary) {
        RedisServer redis = TestServers.redis(binary);
        try (CaptureFixture.Running capture = new CaptureFixture.Running("types", redis)) {
            RedisCommands<String, String> r = capture.redis();
            CaptureFixture.ChangeLog log = capture.log;
            r.set("str", "hello");
            r.append("str", " world");
            r.incrby("counter", 5);
            r.hset("hash", Map.of("f1", "v1"));
            r.rpush("list", "a", "b", "c");
            r.lpop("list");
            r.sadd("set", "x", "y");
            r.zadd("zset", 1.5, "m1");
            r.xadd("stream", Map.of("field", "value"));
            r.pfadd("hll", "a", "b", "c");
            r.setbit("bits", 7, 1);
            r.geoadd("geo", 13.361389, 38.115556, "Palermo");
            long before = System.currentTimeMillis();
            r.setex("ttl", 100, "v"); // 6.2 propagates SETEX/EXPIRE relative, 7.0 absolute: both arrive absolute
            r.expire("hash", 600);
            long after = System.currentTimeMillis();
            r.select(3);
            r.set("in-db-3", "three");
            r.hset("hash-db-3", "f", "v");
            r.select(0);
            r.rpush("back-in-0", "z");
            r.set("end", "1");

            List<ChangeEvent> changes = log.changesUntil("SET end 1", Duration.ofSeconds(30));
            List<String> seen = changes.stream()
                    .map(e -> e.getDb() + " " + e.getCommands().stream().map(CaptureDataTypesTest::shape).toList())
                    .toList();
            String xaddId = CaptureFixture.text(changes.get(8).getCommands().get(0).getArgs().get(1));
            assertTrue(xaddId.matches("\\d+-\\d+"), "XADD * is propagated with the id Redis chose: " + xaddId);
            String geo = changes.get(11).getCommands().get(0).getName();
            assertEquals(List.of(
                    "0 [SET str hello]",
                    "0 [APPEND str  world]",
                    "0 [INCRBY counter 5]",
                    "0 [HSET hash f1 v1]",
                    "0 [RPUSH list a b c]",
                    "0 [LPOP list]",
                    "0 [SADD set x y]",
                    "0 [ZADD zset 1.5 m1]",
                    "0 [XADD stream " + xaddId + " field value]",
                    "0 [PFADD hll a b c]",
                    "0 [SETBIT bits 7 1]",
                    "0 [" + geo + " geo <args>]",
                    "0 [SET ttl v PXAT <abs>]",
                    "0 [PEXPIREAT hash <abs>]",
                    "3 [SET in-db-3 three]",
                    "3 [HSET hash-db-3 f v]",
                    "0 [RPUSH back-in-0 z]"), seen);
            assertTrue(geo.equals("ZADD") || geo.equals("GEOADD"), geo);
            assertEquals("str", CaptureFixture.text(changes.get(0).getKeys().get(0)));
            assertEquals("hash-db-3", CaptureFixture.text(changes.get(15).getKeys().get(0)));
            long ttlAt = Long.parseLong(CaptureFixture.text(changes.get(12).getCommands().get(0).getArgs().get(3)));
            assertTrue(ttlAt >= before + 100_000 - 1000 && ttlAt <= after + 100_000 + 1000, "SETEX 100 became PXAT now+100 s: " + ttlAt);
            long expireAt = Long.parseLong(CaptureFixture.text(changes.get(13).getCommands().get(0).getArgs().get(1)));
            assertTrue(expireAt >= before + 600_000 - 1000 && expireAt <= after + 600_000 + 1000, "EXPIRE 600 became PEXPIREAT: " + expireAt);
            ChangeEvent last = changes.get(changes.size() - 1);
            assertEquals(0, last.getPosition().getDb());
            long endOffset = last.getPosition().getOffset();
            List<ChangeEvent> all = log.await("heartbeats while Redis is idle", Duration.ofSeconds(10),
                    events -> events.stream().filter(e -> e.getKind() == EventKind.HEARTBEAT
                            && e.getHeartbeat().getCapturedOffset() > endOffset).count() >= 2);
            ChangeEvent beat = all.stream().filter(e -> e.getKind() == EventKind.HEARTBEAT).reduce((a, b) -> b).orElseThrow();
            assertEquals(beat.getPosition().getOffset(), beat.getHeartbeat().getCapturedOffset());
            assertTrue(beat.getHeartbeat().getSourceOffset() >= beat.getHeartbeat().getCapturedOffset(), beat.toString());
            assertTrue(log.headers().stream().allMatch(h -> capture.id.equals(h.get(ReplicationPolicy.ORIGIN_HEADER))
                    && h.get(ReplicationPolicy.KIND_HEADER) != null), "origin and kind headers on every record");
        }
    }

    /** The command as text, with geo arguments (floating point formatting differs by version) elided. */
    private static String shape(Command command) {
        if (command.getArgs().size() > 1 && CaptureFixture.text(command.getArgs().get(0)).equals("geo")) {
            return command.getName() + " geo <args>";
        }
        String text = CaptureFixture.text(command);
        if (text.matches("(SET ttl v PXAT|PEXPIREAT hash) \\d{13}")) {
            return text.substring(0, text.length() - 13) + "<abs>";
        }
        return CaptureFixture.text(command);
    }
}
