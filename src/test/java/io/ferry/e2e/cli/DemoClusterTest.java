package io.ferry.e2e.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.TestServers;
import io.ferry.resp.cluster.HashSlot;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code ferry demo --cluster}: every instance a 3-master Redis Cluster, writes on every shard converge. */
class DemoClusterTest {

    private static final Pattern INSTANCE_LINE = Pattern.compile("^\\s+(\\w+)\\s+redis-cli -c -p (\\d+)\\s+capture http://");
    private static final Pattern MASTERS_LINE = Pattern.compile("^\\s+masters ((?:\\d+ ?)+)$");

    @Test
    void clusterDemoConvergesItsSampleKeysAndAKeyWrittenOnEachShardReachesTheSameShardOfThePeer() throws Exception {
        Path dir = TestServers.tempDir("demo-cluster-test");
        try (FerryProcess demo = FerryProcess.start(dir, "demo", "--cluster", "--instances", "2", "--duration", "240")) {
            demo.awaitLine(Duration.ofSeconds(180), line -> line.startsWith("Converged in"));
            demo.awaitLine(Duration.ofSeconds(10), line -> line.startsWith("Running for"));

            Map<String, Integer> seeds = new LinkedHashMap<>();
            Map<String, List<Integer>> masters = new LinkedHashMap<>();
            String current = null;
            for (String line : demo.lines()) {
                Matcher instance = INSTANCE_LINE.matcher(line);
                Matcher nodes = MASTERS_LINE.matcher(line);
                if (instance.find()) {
                    current = instance.group(1);
                    seeds.put(current, Integer.parseInt(instance.group(2)));
                } else if (nodes.find() && current != null) {
                    masters.put(current, Arrays.stream(nodes.group(1).trim().split(" ")).map(Integer::valueOf).toList());
                }
            }
            assertEquals(List.of("a", "b"), List.copyOf(seeds.keySet()), demo.output());
            assertEquals(3, masters.get("b").size(), demo.output());
            String meshFile = demo.lines().stream().filter(line -> line.matches("\\s+mesh file\\s+.*")).findFirst()
                    .orElseThrow(() -> new AssertionError("the demo names its mesh file:\n" + demo.output())).replaceFirst("\\s+mesh file\\s+", "");
            assertFalse(Files.readString(Path.of(meshFile)).contains("conflicts:"),
                    "a cluster demo settles conflicts by the default policy (lww), as a standalone one does");
            assertTrue(demo.lines().stream().anyMatch(line -> line.matches("\\s+\"\\{demo:a\\}:counter\" \\[slot \\d+\\]\\s+string \"42\"")),
                    "the MULTI block's keys share a hash tag and converge:\n" + demo.output());
            assertTrue(demo.lines().stream().anyMatch(line -> line.contains("redis-cli -c -p " + seeds.get("a") + " SET hello world")),
                    demo.output());

            // one key in the first, middle and last slot range: with slots split evenly, one on each master
            List<byte[]> keys = new ArrayList<>();
            for (int slot : new int[] {100, 8000, 16000}) {
                keys.add(("e2e:{" + HashSlot.tag(slot) + "}:written-on-a").getBytes(StandardCharsets.UTF_8));
            }
            byte[] value = {'v', 0, (byte) 0xfe};
            io.lettuce.core.cluster.RedisClusterClient clusterClient =
                    io.lettuce.core.cluster.RedisClusterClient.create(RedisURI.create("127.0.0.1", seeds.get("a")));
            RedisClient client = RedisClient.create();
            try (StatefulRedisClusterConnection<byte[], byte[]> a = clusterClient.connect(ByteArrayCodec.INSTANCE)) {
                for (byte[] key : keys) {
                    a.sync().set(key, value);
                }
                for (int shard = 0; shard < 3; shard++) {
                    byte[] key = keys.get(shard);
                    // read straight from b's master of that slot: a key on another master would answer MOVED
                    try (StatefulRedisConnection<byte[], byte[]> node = client.connect(ByteArrayCodec.INSTANCE,
                            RedisURI.create("127.0.0.1", masters.get("b").get(shard)))) {
                        Await.until(Duration.ofSeconds(30), "the key of shard " + shard + " written on a to appear on b's master " + shard,
                                () -> Arrays.equals(value, node.sync().get(key)));
                        assertArrayEquals(value, node.sync().get(key));
                    }
                }
            } finally {
                clusterClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
                client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            }

            int exit = demo.terminate(Duration.ofSeconds(90));
            assertNotEquals(-1, exit, "the demo stops on SIGTERM; stdout:\n" + demo.output());
            assertTrue(demo.output().contains("Stopped."), demo.output());
            for (Map.Entry<String, List<Integer>> instance : masters.entrySet()) {
                for (int port : instance.getValue()) {
                    assertFalse(DemoTest.accepts(port), "cluster node :" + port + " of " + instance.getKey() + " was stopped");
                }
            }
        }
    }
}
