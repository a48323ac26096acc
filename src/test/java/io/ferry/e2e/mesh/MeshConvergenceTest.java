package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.lettuce.core.GeoArgs;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** Issue 3, test 1: three instances, full mesh, concurrent writers on disjoint keys converge. */
class MeshConvergenceTest {

    @Test
    void threeInstancesConvergeOnEveryDataTypeAndNoTopicHoldsAnotherInstancesWrites() {
        try (MeshUnderTest mesh = MeshUnderTest.start("A", "B", "C")) {
            List<CompletableFuture<Void>> writers = new ArrayList<>();
            for (String name : mesh.names()) {
                writers.add(CompletableFuture.runAsync(() -> writeEverything(mesh, name)));
            }
            writers.forEach(CompletableFuture::join);
            long written = System.nanoTime();

            Await.until(MeshUnderTest.CONVERGE, "A, B and C hold the same keys", () -> {
                Keyspace a = Keyspace.of(mesh.redis("A"));
                return a.keys().size() > 0 && a.differences(Keyspace.of(mesh.redis("B")), 1000).isEmpty()
                        && a.differences(Keyspace.of(mesh.redis("C")), 1000).isEmpty();
            });
            System.out.printf("converged %d ms after the writers finished%n", (System.nanoTime() - written) / 1_000_000);
            Keyspace a = Keyspace.of(mesh.redis("A"));
            assertEquals(List.of(), a.differences(Keyspace.of(mesh.redis("B")), 1000));
            assertEquals(List.of(), a.differences(Keyspace.of(mesh.redis("C")), 1000));
            for (String name : mesh.names()) {
                String p = name.toLowerCase() + ":";
                assertEquals("list", a.keys().get(p + "list").type());
                assertEquals("hash", a.keys().get(p + "hash").type());
                assertEquals("stream", a.keys().get(p + "stream").type());
                assertTrue(a.keys().get(p + "ttl:ex").expireAtMillis() > 0, "TTL carried");
                assertEquals("lua-" + name, a.keys().get(p + "lua:b").value(), "Lua effects replicated");
                assertEquals("6", a.keys().get(p + "multi:counter").value(), "MULTI/EXEC replicated");
            }

            for (String on : mesh.names()) {
                RedisClient client = mesh.newClient(on);
                try (StatefulRedisConnection<String, String> db2 = client.connect()) {
                    db2.sync().select(2);
                    for (String name : mesh.names()) {
                        String key = name.toLowerCase() + ":db2";
                        Await.equal(MeshUnderTest.CONVERGE, key + " in db 2 of " + on, "in db 2", () -> db2.sync().get(key));
                    }
                } finally {
                    client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
                }
            }

            // Each topic holds only its own instance's client writes: nothing applied came back.
            for (String name : mesh.names()) {
                String topic = ReplicationPolicy.changesTopic(mesh.id(name));
                List<ConsumerRecord<byte[], byte[]>> records = mesh.records(topic);
                assertTrue(records.size() > 50, topic + " has " + records.size() + " records");
                int data = 0;
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    ChangeEvent event = AvroSerde.changeEvents().decode(record.value());
                    assertEquals(mesh.id(name), event.getOrigin(), "record at " + record.offset() + " of " + topic);
                    assertEquals(mesh.id(name), new String(record.headers().lastHeader(ReplicationPolicy.ORIGIN_HEADER).value(),
                            StandardCharsets.UTF_8));
                    for (var command : event.getCommands()) {
                        for (var arg : command.getArgs()) {
                            String text = StandardCharsets.UTF_8.decode(arg.duplicate()).toString();
                            for (String other : mesh.names()) {
                                if (!other.equals(name)) {
                                    assertTrue(!text.startsWith(other.toLowerCase() + ":"),
                                            topic + " carries " + other + "'s key " + text + " in " + command.getName());
                                }
                            }
                            assertTrue(!text.startsWith(ReplicationPolicy.RESERVED_PREFIX), "checkpoint published in " + topic);
                        }
                    }
                    if (event.getKind() == EventKind.COMMAND || event.getKind() == EventKind.TRANSACTION) {
                        data++;
                    }
                }
                assertTrue(data >= 30, topic + " holds " + data + " command events");
            }
        }
    }

    /** Writes every data type, TTLs, a MULTI/EXEC block and a Lua script under keys prefixed with the instance. */
    private static void writeEverything(MeshUnderTest mesh, String name) {
        RedisClient client = mesh.newClient(name);
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            RedisCommands<String, String> r = connection.sync();
            String p = name.toLowerCase() + ":";
            for (int i = 0; i < 20; i++) {
                r.set(p + "str:" + i, "v" + i);
                r.rpush(p + "list", "x" + i);
                r.hset(p + "hash", "f" + i, "v" + i);
                r.sadd(p + "set", "m" + i);
                r.zadd(p + "zset", i * 1.5, "z" + i);
                r.xadd(p + "stream", Map.of("n", String.valueOf(i)));
                r.incr(p + "counter");
                r.append(p + "appended", "ab");
            }
            r.lpush(p + "list", "head");
            r.lpop(p + "list");
            r.lrem(p + "list", 1, "x3");
            r.hdel(p + "hash", "f0");
            r.hincrbyfloat(p + "hash", "float", 1.5);
            r.srem(p + "set", "m1");
            r.spop(p + "set");
            r.zincrby(p + "zset", 10, "z2");
            r.zrangestore(p + "zstored", p + "zset", Range.create(0L, 4L));
            r.incrbyfloat(p + "float", 2.25);
            r.setbit(p + "bits", 77, 1);
            r.pfadd(p + "hll", "a", "b", "c");
            r.geoadd(p + "geo", 13.361389, 38.115556, "Palermo");
            r.geoadd(p + "geo", 15.087269, 37.502669, "Catania");
            r.georadius(p + "geo", 15, 37, 200, GeoArgs.Unit.km);
            r.rename(p + "str:19", p + "renamed");
            r.del(p + "str:18");
            r.set(p + "ttl:ex", "v", SetArgs.Builder.ex(600));
            r.set(p + "ttl:px", "v", SetArgs.Builder.px(900_000));
            r.set(p + "ttl:expire", "v");
            r.expire(p + "ttl:expire", 700);
            r.set(p + "ttl:persist", "v", SetArgs.Builder.ex(100));
            r.persist(p + "ttl:persist");
            r.multi();
            r.incr(p + "multi:counter");
            r.incrby(p + "multi:counter", 5);
            r.rpush(p + "multi:list", "a", "b");
            r.exec();
            r.eval("redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[2]); return 1",
                    ScriptOutputType.INTEGER, new String[] {p + "lua:a", p + "lua:b"}, "lua-a", "lua-" + name);
            r.select(2);
            r.set(p + "db2", "in db 2");
            r.select(0);
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }
}
