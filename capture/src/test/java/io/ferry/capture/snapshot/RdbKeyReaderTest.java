package io.ferry.capture.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.capture.CaptureFixture;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.lettuce.core.RestoreArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The streaming RDB reader against RDB files written by a real redis-server: every key's payload, whole or
 * in pieces, is what {@code DUMP} answers, and RESTOREs on another real redis-server to an identical value;
 * down-converted payloads restore on Redis 6.2.
 */
class RdbKeyReaderTest {

    private static final long EXPIRE_AT = System.currentTimeMillis() + 3_600_000;

    private static RedisServer source;
    private static Path rdb;

    @BeforeAll
    static void writeAnRdb() {
        source = TestServers.redis(TestServers.redis70());
        try (StatefulRedisConnection<String, String> text = CaptureFixture.connect(source);
             StatefulRedisConnection<byte[], byte[]> raw = CaptureFixture.connectBytes(source)) {
            fill(text.sync(), raw.sync());
            text.sync().save();
            rdb = Path.of(text.sync().configGet("dir").get("dir")).resolve(text.sync().configGet("dbfilename").get("dbfilename"));
        }
    }

    /** Small and big keys of every type, some with a TTL; names over 20 bytes are LZF-compressed in the RDB. */
    private static void fill(RedisCommands<String, String> r, RedisCommands<byte[], byte[]> raw) {
        Random random = new Random(5);
        r.set("string:plain", "value");
        r.set("string:int", "123456789");
        r.set("string:compressible:" + "x".repeat(40), "abc".repeat(200_000));
        byte[] big = new byte[3 << 20];
        random.nextBytes(big);
        raw.set(bytes("string:big-random"), big);
        r.rpush("list:small", "a", "b", "c");
        // the big keys are filled by scripts: one round trip instead of one per element
        r.eval("for i = 0, 39999 do redis.call('RPUSH', KEYS[1], 'element-' .. i .. '-' .. string.rep('z', i % 50)) end",
                io.lettuce.core.ScriptOutputType.STATUS, "list:big:" + "y".repeat(30));
        r.sadd("set:small", "x", "y", "z");
        r.sadd("set:intset", "1", "2", "3");
        r.eval("for i = 0, 29999 do redis.call('SADD', KEYS[1], 'member-' .. i); redis.call('ZADD', KEYS[2], i * 1.5, 'member-' .. i);"
                        + " redis.call('HSET', KEYS[3], 'field-' .. i, 'value-' .. i .. '-' .. string.rep('v', i % 70)) end",
                io.lettuce.core.ScriptOutputType.STATUS, "set:big", "zset:big", "hash:big");
        r.hset("hash:small", Map.of("a", "1", "b", "2"));
        r.zadd("zset:small", 1.0, "one");
        r.zadd("zset:small", 2.5, "two");
        r.xadd("stream:small", Map.of("f", "v"));
        r.eval("for i = 0, 19999 do redis.call('XADD', KEYS[1], '*', 'field', 'value-' .. i, 'n', tostring(i)) end",
                io.lettuce.core.ScriptOutputType.STATUS, "stream:big");
        r.xgroupCreate(io.lettuce.core.XReadArgs.StreamOffset.from("stream:big", "0"), "group");
        r.xreadgroup(io.lettuce.core.Consumer.from("group", "reader"), io.lettuce.core.XReadArgs.Builder.count(5),
                io.lettuce.core.XReadArgs.StreamOffset.lastConsumed("stream:big"));
        for (String key : List.of("string:plain", "list:small", "set:intset", "hash:big", "zset:big", "stream:small")) {
            r.pexpireat(key, EXPIRE_AT);
        }
        r.select(3);
        r.set("db3:string", "three");
        r.select(0);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static Map<String, SnapshotRead> readAll(int rdbVersion, int pieceSize) throws Exception {
        Map<String, SnapshotRead> keys = new TreeMap<>();
        RdbKeyReader.read(rdb, rdbVersion, key -> {
            ByteArrayOutputStream joined = new ByteArrayOutputStream();
            int[] pieces = {0};
            key.payload().pieces(pieceSize, (index, count, data) -> {
                assertEquals(pieces[0]++, index);
                assertEquals(key.payload().pieceCount(pieceSize), count);
                assertTrue(data.length <= pieceSize);
                joined.writeBytes(data);
            });
            byte[] payload = joined.toByteArray();
            assertEquals(key.payload().length(), payload.length);
            if (payload.length < 8 << 20) {
                assertArrayEquals(payload, key.payload().bytes(), "whole or in pieces, the same payload");
            }
            keys.put(key.db() + "/" + new String(key.key(), StandardCharsets.UTF_8), new SnapshotRead(key.db(), key.key(), payload, key.expireAtMillis()));
        });
        return keys;
    }

    private record SnapshotRead(int db, byte[] key, byte[] payload, long expireAtMillis) {
    }

    @Test
    void everyPayloadIsWhatDumpAnswersAndRestoresToAnIdenticalValue() throws Exception {
        Map<String, SnapshotRead> keys = readAll(0, 4093); // an odd piece size: pieces end inside the footer too
        assertEquals(16, keys.size(), keys.keySet().toString());
        RedisServer target = TestServers.redis(TestServers.redis70());
        try (StatefulRedisConnection<byte[], byte[]> s = CaptureFixture.connectBytes(source);
             StatefulRedisConnection<byte[], byte[]> t = CaptureFixture.connectBytes(target)) {
            for (SnapshotRead key : keys.values()) {
                String name = new String(key.key(), StandardCharsets.UTF_8);
                s.sync().select(key.db());
                t.sync().select(key.db());
                assertArrayEquals(s.sync().dump(key.key()), key.payload(), "the payload of " + name + " is what DUMP answers");
                long ttl = s.sync().pttl(key.key());
                assertEquals(ttl < 0 ? 0 : EXPIRE_AT, key.expireAtMillis(), "the expiry of " + name);
                t.sync().restore(key.key(), key.payload(), RestoreArgs.Builder.ttl(key.expireAtMillis()).absttl());
                String type = s.sync().type(key.key());
                assertEquals(type, t.sync().type(key.key()));
                assertEquals(CaptureFixture.canonicalValue(s.sync(), key.key(), type), CaptureFixture.canonicalValue(t.sync(), key.key(), type),
                        "the value of " + name);
            }
        } finally {
            target.close();
        }
    }

    @Test
    void payloadsDownConvertedForRdb9RestoreOnRedis62ToIdenticalValues() throws Exception {
        Map<String, SnapshotRead> keys = readAll(9, 64 * 1024);
        RedisServer target = TestServers.redis(TestServers.redis62());
        try (StatefulRedisConnection<byte[], byte[]> s = CaptureFixture.connectBytes(source);
             StatefulRedisConnection<byte[], byte[]> t = CaptureFixture.connectBytes(target)) {
            for (SnapshotRead key : keys.values()) {
                s.sync().select(key.db());
                t.sync().select(key.db());
                t.sync().restore(key.key(), key.payload(), RestoreArgs.Builder.ttl(key.expireAtMillis()).absttl());
                String type = s.sync().type(key.key());
                assertEquals(CaptureFixture.canonicalValue(s.sync(), key.key(), type), CaptureFixture.canonicalValue(t.sync(), key.key(), type),
                        "the value of " + new String(key.key(), StandardCharsets.UTF_8) + " on Redis 6.2");
            }
        } finally {
            target.close();
        }
    }

    @Test
    void aValueTooBigToReEncodeStopsTheReadWithWhatToDo() {
        RdbKeyReader.TooBigToConvertException refused = assertThrows(RdbKeyReader.TooBigToConvertException.class,
                () -> RdbKeyReader.read(rdb, 9, 100_000, null, key -> { }));
        assertTrue(refused.getMessage().contains("-Xmx") && refused.getMessage().contains("capture.snapshotRdbVersion"), refused.getMessage());
    }

    @Test
    void aSnapshotSendsAValueTooBigToReEncodeAsItIsAndSaysSoAndGoesOn() throws Exception {
        List<String> reasons = new ArrayList<>();
        Map<String, Integer> versions = new TreeMap<>();
        long keys = RdbKeyReader.read(rdb, 9, 100_000, reasons::add, key -> {
            byte[] payload = key.payload().bytes();
            versions.put(new String(key.key(), StandardCharsets.UTF_8), (payload[payload.length - 10] & 0xff) | (payload[payload.length - 9] & 0xff) << 8);
        });
        assertEquals(versions.size(), keys, "every key handed on");
        assertTrue(!reasons.isEmpty() && reasons.stream().allMatch(r -> r.contains("sent as it is") && r.contains("-Xmx")), reasons.toString());
        assertEquals(9, versions.get("string:plain"), "a value version 9 has is down-labelled as asked");
        String bigList = "list:big:" + "y".repeat(30);
        assertTrue(versions.get(bigList) > 9, "a big quicklist-2 list goes in the file's own version: " + versions.get(bigList));
        assertTrue(reasons.stream().anyMatch(r -> r.contains(bigList)), "the list is named: " + reasons);
    }
}
