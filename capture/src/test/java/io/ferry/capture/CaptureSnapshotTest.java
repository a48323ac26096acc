package io.ferry.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.RedisBinary;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.SnapshotChunk;
import io.lettuce.core.RestoreArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class CaptureSnapshotTest {

    private static final int MAX_RECORD_BYTES = 64 * 1024;

    /** Source, target, and the snapshot's RDB version setting (0: the source's own). */
    static Stream<Arguments> sourceAndTarget() {
        return Stream.of(Arguments.of(TestServers.redis62(), TestServers.redis62(), 0),
                Arguments.of(TestServers.redis70(), TestServers.redis70(), 0),
                // a mixed-version mesh: 7.0's RDB 10 payloads down-converted for a 6.2 peer
                Arguments.of(TestServers.redis70(), TestServers.redis62(), 9));
    }

    @ParameterizedTest(name = "Redis {0} to {1}, snapshotRdbVersion {2}")
    @MethodSource("sourceAndTarget")
    void restoringThePublishedSnapshotIntoAnEmptyRedisGivesAnIdenticalDataset(RedisBinary sourceBinary, RedisBinary targetBinary,
                                                                              int rdbVersion) {
        RedisServer source = TestServers.redis(sourceBinary);
        RedisServer target = TestServers.redis(targetBinary);
        String id = CaptureFixture.instanceId("snap");
        try (StatefulRedisConnection<String, String> connection = CaptureFixture.connect(source);
             StatefulRedisConnection<byte[], byte[]> raw = CaptureFixture.connectBytes(source)) {
            fill(connection.sync(), raw.sync());
        }
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        String settings = "{maxRecordBytes: " + MAX_RECORD_BYTES + ", snapshotRdbVersion: " + rdbVersion + "}";
        try (CaptureService capture = new CaptureService(CaptureFixture.mesh(id, source, settings), id, registry);
             CaptureFixture.ChangeLog log = new CaptureFixture.ChangeLog(id)) {
            capture.start();
            List<ChangeEvent> events = log.await("SNAPSHOT_END", Duration.ofSeconds(60),
                    all -> all.stream().anyMatch(e -> e.getKind() == EventKind.SNAPSHOT_END));
            assertEquals(EventKind.SNAPSHOT_START, events.get(0).getKind());
            assertEquals(1.0, capture.metrics().fullResyncCount());
            assertTrue(events.stream().filter(e -> e.getKind() == EventKind.SNAPSHOT_CHUNK).count() >= 5,
                    "the 300 KB key is split into chunks below the record limit");
            assertTrue(events.stream().noneMatch(e -> e.getKind() == EventKind.SNAPSHOT_KEY
                    && CaptureFixture.text(e.getKeys().get(0)).startsWith("__ferry:")), "reserved keys are not published");
            restore(events, target);
        }
        compare(source, target);
    }

    private static void fill(RedisCommands<String, String> r, RedisCommands<byte[], byte[]> raw) {
        r.set("string", "value");
        r.set("number", "12345");
        r.setex("string:ttl", 300, "expiring");
        r.hset("hash", Map.of("a", "1", "b", "2"));
        Map<String, String> bigHash = new HashMap<>();
        for (int i = 0; i < 1000; i++) {
            bigHash.put("field" + i, "value" + i);
        }
        r.hset("hash:hashtable", bigHash);
        r.rpush("list", "a", "b", "c");
        r.sadd("set", "x", "y", "z");
        r.sadd("set:ints", "1", "2", "3");
        r.zadd("zset", 1.0, "one");
        r.zadd("zset", 2.5, "two");
        r.xadd("stream", Map.of("f", "v"));
        r.xadd("stream", Map.of("f", "w"));
        r.xgroupCreate(io.lettuce.core.XReadArgs.StreamOffset.from("stream", "0"), "group");
        r.pfadd("hll", "a", "b", "c", "d");
        r.setbit("bitmap", 100, 1);
        r.geoadd("geo", 13.361389, 38.115556, "Palermo");
        r.pexpire("hash", 600_000);
        r.set("__ferry:ckpt:peer:0", "3");
        byte[] big = new byte[300 * 1024];
        new Random(42).nextBytes(big);
        raw.set("big".getBytes(StandardCharsets.UTF_8), big);
        raw.expire("big".getBytes(StandardCharsets.UTF_8), 900);
        r.select(2);
        r.set("db2:string", "two");
        r.rpush("db2:list", "1", "2");
        r.select(0);
    }

    /** Replays the snapshot events as RESTORE commands, reassembling chunked keys. */
    private static void restore(List<ChangeEvent> events, RedisServer target) {
        try (StatefulRedisConnection<byte[], byte[]> connection = CaptureFixture.connectBytes(target)) {
            RedisCommands<byte[], byte[]> r = connection.sync();
            Map<String, ByteArrayOutputStream> chunks = new HashMap<>();
            for (ChangeEvent event : events) {
                if (event.getKind() == EventKind.SNAPSHOT_KEY) {
                    Command restore = event.getCommands().get(0);
                    assertEquals("RESTORE", restore.getName());
                    assertEquals("ABSTTL", CaptureFixture.text(restore.getArgs().get(3)));
                    r.select(event.getDb());
                    restore(r, CaptureFixture.bytes(restore.getArgs().get(0)),
                            Long.parseLong(CaptureFixture.text(restore.getArgs().get(1))), CaptureFixture.bytes(restore.getArgs().get(2)));
                } else if (event.getKind() == EventKind.SNAPSHOT_CHUNK) {
                    SnapshotChunk chunk = event.getChunk();
                    String key = event.getDb() + "/" + CaptureFixture.text(chunk.getKey());
                    ByteArrayOutputStream payload = chunks.computeIfAbsent(key, k -> new ByteArrayOutputStream());
                    assertEquals(payload.size() == 0 ? 0 : chunk.getIndex(), chunk.getIndex());
                    payload.writeBytes(CaptureFixture.bytes(chunk.getData()));
                    if (chunk.getIndex() == chunk.getCount() - 1) {
                        r.select(event.getDb());
                        restore(r, CaptureFixture.bytes(chunk.getKey()), chunk.getExpireAtMillis(), payload.toByteArray());
                    }
                }
            }
        }
    }

    private static void restore(RedisCommands<byte[], byte[]> r, byte[] key, long expireAt, byte[] payload) {
        r.restore(key, payload, RestoreArgs.Builder.ttl(expireAt).absttl());
    }

    private static void compare(RedisServer source, RedisServer target) {
        try (StatefulRedisConnection<byte[], byte[]> s = CaptureFixture.connectBytes(source);
             StatefulRedisConnection<byte[], byte[]> t = CaptureFixture.connectBytes(target)) {
            for (int db : List.of(0, 2)) {
                s.sync().select(db);
                t.sync().select(db);
                TreeSet<String> sourceKeys = names(s.sync().keys("*".getBytes()));
                sourceKeys.removeIf(k -> k.startsWith("__ferry:"));
                TreeSet<String> targetKeys = names(t.sync().keys("*".getBytes()));
                assertEquals(sourceKeys, targetKeys, "keys of db " + db);
                for (String name : sourceKeys) {
                    byte[] key = name.getBytes(StandardCharsets.ISO_8859_1);
                    assertEquals(s.sync().type(key), t.sync().type(key), "type of " + name);
                    String type = s.sync().type(key);
                    assertEquals(CaptureFixture.canonicalValue(s.sync(), key, type), CaptureFixture.canonicalValue(t.sync(), key, type), "value of " + name);
                    long sourceTtl = s.sync().pttl(key);
                    long targetTtl = t.sync().pttl(key);
                    if (sourceTtl < 0) {
                        assertEquals(sourceTtl, targetTtl, "no TTL on " + name);
                    } else {
                        assertTrue(Math.abs(sourceTtl - targetTtl) < 2000, "TTL of " + name + ": " + sourceTtl + " vs " + targetTtl);
                    }
                }
                if (db == 0) {
                    assertTrue(sourceKeys.contains("big") && sourceKeys.size() == 14, sourceKeys.toString());
                }
            }
        }
    }

    private static TreeSet<String> names(List<byte[]> keys) {
        TreeSet<String> names = new TreeSet<>();
        for (byte[] key : keys) {
            names.add(new String(key, StandardCharsets.ISO_8859_1));
        }
        return names;
    }
}
