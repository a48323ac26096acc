package io.ferry.resp.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.RedisBinary;
import io.ferry.localmesh.RedisClusterServers;
import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespMessage;
import io.ferry.topology.RedisEndpoint;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Against a real 3-master Redis Cluster started on loopback ports. */
class RedisClusterClientTest {

    @TempDir
    static Path dir;
    static RedisClusterServers cluster;

    @BeforeAll
    static void startCluster() {
        cluster = RedisClusterServers.start(RedisBinary.preferred(), dir, 3);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static RedisEndpoint endpoint(int node) {
        return new RedisEndpoint("127.0.0.1", cluster.node(node).port(), false, null, null);
    }

    private static RedisClusterClient client() throws Exception {
        return RedisClusterClient.connect(List.of(endpoint(1)), 5000);
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static RedisClusterClient.Routed command(String... argv) {
        byte[][] bytes = new byte[argv.length][];
        for (int i = 0; i < argv.length; i++) {
            bytes[i] = b(argv[i]);
        }
        return new RedisClusterClient.Routed(bytes[1], bytes);
    }

    /** A hash tag whose slot node {@code owner} serves and that no other test uses. */
    private static String tagOwnedBy(int owner, String prefix) {
        for (int i = 0; ; i++) {
            String tag = "{" + prefix + i + "}";
            if (cluster.ownerOf(HashSlot.of(b(tag.substring(1, tag.length() - 1)))) == owner) {
                return tag;
            }
        }
    }

    @Test
    void readsEveryMasterAndTheSameMapFromClusterShardsAndClusterSlots() throws Exception {
        try (RedisClusterClient client = client(); RedisConnection node = RedisConnection.open(endpoint(0), 5000)) {
            SlotMap map = client.slots();
            Set<Integer> ports = new HashSet<>();
            map.masters().forEach(m -> ports.add(m.port()));
            Set<Integer> expected = new HashSet<>();
            cluster.nodes().forEach(n -> expected.add(n.port()));
            assertEquals(expected, ports);
            assertEquals(0, map.unservedSlots());
            assertEquals(SlotMap.fromSlots(node.call("CLUSTER", "SLOTS"), "127.0.0.1"),
                    SlotMap.fromShards(node.call("CLUSTER", "SHARDS"), "127.0.0.1", false));
        }
    }

    @Test
    void computesTheSameSlotAsRedisForAnyKey() throws Exception {
        Random random = new Random(13);
        try (RedisConnection node = RedisConnection.open(endpoint(0), 5000)) {
            for (int i = 0; i < 300; i++) {
                byte[] key = new byte[random.nextInt(24)];
                random.nextBytes(key);
                if (i % 3 == 0 && key.length > 4) {
                    key[1] = '{';
                    key[key.length - 2] = '}';
                }
                RespMessage.Integer slot = assertInstanceOf(RespMessage.Integer.class, node.call(b("CLUSTER"), b("KEYSLOT"), key));
                assertEquals(slot.value(), HashSlot.of(key), "key " + java.util.Arrays.toString(key));
            }
        }
    }

    @Test
    void aPipelinedBatchLandsEachKeyOnTheMasterOfItsSlot() throws Exception {
        List<RedisClusterClient.Routed> writes = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            writes.add(command("SET", "batch:" + i, "v" + i));
        }
        try (RedisClusterClient client = client()) {
            for (RespMessage reply : client.execute(writes)) {
                assertEquals("OK", assertInstanceOf(RespMessage.Simple.class, reply).text());
            }
            for (int i = 0; i < 3000; i += 97) {
                byte[] key = b("batch:" + i);
                int owner = cluster.ownerOf(HashSlot.of(key));
                try (RedisConnection node = RedisConnection.open(endpoint(owner), 5000)) {
                    assertArrayEquals(b("v" + i), ((RespMessage.BulkString) node.call(b("GET"), key)).bytes(),
                            "batch:" + i + " on the node that serves its slot");
                }
            }
            long total = 0;
            for (int n = 0; n < 3; n++) {
                try (RedisConnection node = RedisConnection.open(endpoint(n), 5000)) {
                    long keys = ((RespMessage.Integer) node.call("EVAL", "return #redis.call('KEYS', 'batch:*')", "0")).value();
                    assertTrue(keys > 500, "node " + n + " holds a share of the batch, not " + keys);
                    total += keys;
                }
            }
            assertEquals(3000, total, "every key written once");
        }
    }

    @Test
    void followsMovedAfterASlotMigrationAndRefreshesItsMap() throws Exception {
        String tag = tagOwnedBy(0, "moved");
        int slot = HashSlot.of(b(tag.substring(1, tag.length() - 1)));
        try (RedisClusterClient client = client()) {
            List<RedisClusterClient.Routed> counters = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                counters.add(command("INCRBY", tag + "c" + i, "5"));
            }
            client.execute(counters);
            NodeAddress before = client.slots().owner(slot);
            assertEquals(cluster.node(0).port(), before.port());

            cluster.moveSlot(slot, 0, 2); // the client's map is now stale

            List<RespMessage> replies = client.execute(counters);
            for (RespMessage reply : replies) {
                assertEquals(10, assertInstanceOf(RespMessage.Integer.class, reply).value(), "applied once, on the migrated value");
            }
            assertEquals(cluster.node(2).port(), client.slots().owner(slot).port(), "the map follows the MOVED");
            try (RedisClusterClient fresh = client()) {
                assertEquals(fresh.slots(), client.slots(), "and the whole map was re-read");
            }
        }
    }

    @Test
    void followsAskWhileASlotIsMigratingWithoutChangingItsMap() throws Exception {
        String tag = tagOwnedBy(1, "ask");
        int slot = HashSlot.of(b(tag.substring(1, tag.length() - 1)));
        try (RedisClusterClient client = client()) {
            client.execute(List.of(command("SET", tag + "moved", "m"), command("SET", tag + "stays", "s")));
            cluster.beginSlotMove(slot, 1, 0);
            try {
                cluster.migrateKeys(1, 0, List.of(tag + "moved"));
                List<RespMessage> replies = client.execute(List.of(
                        command("APPEND", tag + "moved", "+"), command("APPEND", tag + "stays", "+"), command("SET", tag + "new", "n")));
                assertEquals(2, ((RespMessage.Integer) replies.get(0)).value(), "the migrated key, reached through ASK");
                assertEquals(2, ((RespMessage.Integer) replies.get(1)).value(), "the key still on the old owner");
                assertEquals("OK", ((RespMessage.Simple) replies.get(2)).text());
                assertEquals(cluster.node(1).port(), client.slots().owner(slot).port(), "ASK leaves the map alone");
            } finally {
                cluster.migrateKeys(1, 0, List.of(tag + "stays"));
                cluster.finishSlotMove(slot, 0);
            }
            List<RespMessage> after = client.execute(List.of(
                    command("GET", tag + "moved"), command("GET", tag + "stays"), command("GET", tag + "new")));
            assertArrayEquals(b("m+"), ((RespMessage.BulkString) after.get(0)).bytes());
            assertArrayEquals(b("s+"), ((RespMessage.BulkString) after.get(1)).bytes());
            assertArrayEquals(b("n"), ((RespMessage.BulkString) after.get(2)).bytes(), "the new key was created on the importing node");
            assertEquals(cluster.node(0).port(), client.slots().owner(slot).port());
        }
    }

    @Test
    void fallsBackToClusterSlotsOnAServerWithoutClusterShards() throws Exception {
        try (RedisClusterServers older = RedisClusterServers.start(RedisBinary.embedded62(), dir.resolve("redis-6.2"), 3)) {
            try (RedisConnection node = RedisConnection.open(new RedisEndpoint("127.0.0.1", older.node(0).port(), false, null, null), 5000)) {
                assertInstanceOf(RespMessage.Error.class, node.call("CLUSTER", "SHARDS"), "6.2 has no CLUSTER SHARDS");
            }
            try (RedisClusterClient client = RedisClusterClient.connect(
                    List.of(new RedisEndpoint("127.0.0.1", older.node(2).port(), false, null, null)), 5000)) {
                assertEquals(3, client.slots().masters().size());
                assertEquals(0, client.slots().unservedSlots());
                List<RedisClusterClient.Routed> writes = new ArrayList<>();
                for (int i = 0; i < 300; i++) {
                    writes.add(command("SET", "old:" + i, "v"));
                }
                for (RespMessage reply : client.execute(writes)) {
                    assertEquals("OK", assertInstanceOf(RespMessage.Simple.class, reply).text());
                }
                int slot = HashSlot.of(b("old:0"));
                int from = older.ownerOf(slot);
                older.moveSlot(slot, from, (from + 1) % 3);
                RespMessage moved = client.call(b("old:0"), b("GET"), b("old:0"));
                assertArrayEquals(b("v"), ((RespMessage.BulkString) moved).bytes());
                assertEquals(older.node((from + 1) % 3).port(), client.slots().owner(slot).port());
            }
        }
    }
}
