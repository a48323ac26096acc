package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.schemas.ReplicationPolicy;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code ferry verify} on a running three-instance mesh with traffic: keys changed on one instance behind
 * Ferry's back are found and named, {@code --repair} makes every instance hold the winner's copy through
 * the agents, and a second run finds nothing. Keys written by the traffic are in flight all the time and
 * must never be reported.
 */
class VerifyRepairTest {

    /** Not a member of the mesh: a block writing its checkpoint looks like an apply agent's, so the capture does not publish it. */
    private static final String NOBODY = "nobody-peer";
    private static final byte[] BINARY_KEY = {'f', 'i', 'x', ':', 'c', ':', (byte) 0xff, 0, 'b'};

    private final List<RedisClient> clients = new ArrayList<>();

    @Test
    void keysChangedBehindFerrysBackAreNamedThenRepairedThroughTheAgents() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.start("A", "B", "C")) {
            Path file = meshFileWithPolicies(mesh);
            long expireAt = System.currentTimeMillis() + 3_600_000;
            RedisCommands<byte[], byte[]> onA = bytesConnection(mesh, "A").sync();
            onA.set(bytes("fix:c:string"), bytes("original"));
            onA.hset(bytes("fix:c:hash"), Map.of(bytes("f1"), bytes("v1"), bytes("f2"), bytes("v2")));
            onA.rpush(bytes("fix:c:list"), bytes("x"), bytes("y"));
            onA.set(bytes("fix:c:ttl"), bytes("v"), SetArgs.Builder.pxAt(expireAt));
            onA.set(BINARY_KEY, new byte[] {1, 2, 3});
            onA.set(bytes("fix:b:gone"), bytes("deleted on B"));
            onA.sadd(bytes("fix:lww:set"), bytes("m1"), bytes("m2"));
            onA.set(bytes("fix:same"), bytes("never touched"));
            for (String name : List.of("B", "C")) {
                Await.until(MeshUnderTest.CONVERGE, "the seed keys on " + name,
                        () -> mesh.redis(name).exists("fix:same") == 1 && mesh.redis(name).exists("fix:b:gone") == 1
                                && mesh.redis(name).pexpiretime("fix:c:ttl") == expireAt);
            }

            AtomicBoolean trafficOn = new AtomicBoolean(true);
            List<CompletableFuture<Void>> traffic = new ArrayList<>();
            for (String name : mesh.names()) {
                traffic.add(CompletableFuture.runAsync(() -> traffic(mesh, name, trafficOn)));
            }
            try {
                behindFerrysBack(mesh, "B", b -> {
                    b.set(bytes("fix:c:string"), bytes("changed on B"));
                    b.hset(bytes("fix:c:hash"), bytes("f3"), bytes("v3"));
                    b.lpush(bytes("fix:c:list"), bytes("w"));
                    b.pexpireat(bytes("fix:c:ttl"), expireAt + 3_600_000);
                    b.set(BINARY_KEY, new byte[] {9});
                    b.del(bytes("fix:b:gone"));
                    b.set(bytes("fix:b:new"), bytes("only on B"));
                    b.sadd(bytes("fix:lww:set"), bytes("m3"));
                });

                FerryRun first = ferry("verify", "-c", file.toString());
                assertEquals(1, first.exitCode(), first.toString());
                for (String key : List.of("fix:c:string", "fix:c:hash", "fix:c:list", "fix:c:ttl", "fix:c:\\xff\\x00b",
                        "fix:b:gone", "fix:b:new", "fix:lww:set")) {
                    assertTrue(first.out().contains("diverged \"" + key + "\" db 0: "), key + " is named:\n" + first);
                }
                assertTrue(first.out().contains("diverged \"fix:b:gone\" db 0: missing on " + mesh.id("B")), first.toString());
                assertTrue(first.out().contains("diverged \"fix:c:ttl\" db 0: ttl differs"), first.toString());
                assertTrue(first.out().contains(", 8 diverged, 0 repaired"), first.toString());
                assertFalse(first.out().contains("diverged \"traffic:"), "keys in flight are no false alarm:\n" + first);

                FerryRun repair = ferry("verify", "-c", file.toString(), "--repair");
                assertEquals(0, repair.exitCode(), repair.toString());
                assertTrue(repair.out().contains("republished \"fix:c:string\" db 0 from " + mesh.id("C") + " (priority "),
                        repair.toString());
                assertTrue(repair.out().contains("repaired \"fix:b:new\" db 0: every instance holds " + mesh.id("B") + "'s copy"),
                        repair.toString());
                assertTrue(repair.out().contains(", 8 diverged, 8 repaired"), repair.toString());

                for (String name : mesh.names()) {
                    RedisCommands<String, String> redis = mesh.redis(name);
                    assertEquals("original", redis.get("fix:c:string"), name);
                    assertEquals(Map.of("f1", "v1", "f2", "v2"), redis.hgetall("fix:c:hash"), name);
                    assertEquals(List.of("x", "y"), redis.lrange("fix:c:list", 0, -1), name);
                    long ttlKeyExpiry = redis.pexpiretime("fix:c:ttl");
                    assertTrue(Math.abs(ttlKeyExpiry - expireAt) <= 1000, name + ": expiry " + ttlKeyExpiry + " for " + expireAt);
                    assertArrayEquals(new byte[] {1, 2, 3}, bytesConnection(mesh, name).sync().get(BINARY_KEY), name);
                    assertNull(redis.get("fix:b:gone"), name);
                    assertEquals("only on B", redis.get("fix:b:new"), name);
                }

                FerryRun second = ferry("verify", "-c", file.toString());
                assertEquals(0, second.exitCode(), second.toString());
                assertTrue(second.out().contains(", 0 diverged, 0 repaired"), second.toString());
            } finally {
                trafficOn.set(false);
                traffic.forEach(CompletableFuture::join);
            }
        }
    }

    /** The mesh file with conflict policies naming the instances (whose ids carry a random suffix). */
    private static Path meshFileWithPolicies(MeshUnderTest mesh) throws IOException {
        String yaml = Files.readString(mesh.local().configFile()) + """
                conflicts:
                  - {match: "fix:c:*", policy: priority, order: [%s, %s, %s]}
                  - {match: "fix:b:*", policy: priority, order: [%s, %s, %s]}
                """.formatted(mesh.id("C"), mesh.id("A"), mesh.id("B"), mesh.id("B"), mesh.id("C"), mesh.id("A"));
        Path file = mesh.local().dir().resolve("mesh-with-policies.yaml");
        Files.writeString(file, yaml);
        return file;
    }

    /**
     * Writes on one instance so that Ferry does not carry it: in one MULTI with a checkpoint of a peer
     * that does not exist, which the capture takes for its own apply agent's write and does not publish.
     */
    private void behindFerrysBack(MeshUnderTest mesh, String name, Consumer<RedisCommands<byte[], byte[]>> writes) {
        try (StatefulRedisConnection<byte[], byte[]> connection = bytesConnection(mesh, name)) {
            RedisCommands<byte[], byte[]> redis = connection.sync();
            redis.multi();
            writes.accept(redis);
            redis.set(ReplicationPolicy.checkpointKey(NOBODY, 0), bytes("1"));
            assertFalse(redis.exec().wasDiscarded());
        }
    }

    /** About 20 writes a second on one instance, each of 100 keys rewritten every 5 s or so. */
    private static void traffic(MeshUnderTest mesh, String name, AtomicBoolean on) {
        RedisClient client = mesh.newClient(name);
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            for (int i = 0; on.get(); i++) {
                connection.sync().set("traffic:" + name + ":" + (i % 100), String.valueOf(i));
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    private StatefulRedisConnection<byte[], byte[]> bytesConnection(MeshUnderTest mesh, String name) {
        RedisClient client = mesh.newClient(name);
        clients.add(client);
        return client.connect(ByteArrayCodec.INSTANCE);
    }

    @AfterEach
    void closeClients() {
        clients.forEach(client -> client.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
    }

    private static FerryRun ferry(String... args) {
        return FerryRun.of(args);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
