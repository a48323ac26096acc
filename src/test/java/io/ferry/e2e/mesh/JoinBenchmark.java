package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.localmesh.TestServers;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * How long {@code ferry join} takes for a large keyspace: {@code -Dferry.join.keys} keys (default 1,000,000;
 * 90% 100-byte strings, 10% hashes of 10 fields) on A, then B joins from A. Not part of the suite (the class
 * name does not end in Test); run it with
 * {@code mvn -pl src/test test -Dtest=JoinBenchmark [-Dferry.join.keys=N]}. Prints the figures.
 */
class JoinBenchmark {

    @Test
    void measuresAJoinOfALargeKeyspace() throws Exception {
        int keys = Integer.getInteger("ferry.join.keys", 1_000_000);
        try (MeshUnderTest mesh = MeshUnderTest.servers(TestServers.kafka(), null, "A", "B")) {
            long fillStart = System.nanoTime();
            try (StatefulRedisConnection<String, String> connection = mesh.newClient("A").connect()) {
                connection.setAutoFlushCommands(false);
                RedisAsyncCommands<String, String> async = connection.async();
                String value = "v".repeat(90);
                List<RedisFuture<?>> pending = new ArrayList<>();
                for (int i = 0; i < keys; i += 100) {
                    Map<String, String> batch = new HashMap<>();
                    for (int j = i; j < Math.min(keys, i + 100); j++) {
                        if (j % 10 == 0) {
                            Map<String, String> fields = new HashMap<>();
                            for (int f = 0; f < 10; f++) {
                                fields.put("field-" + f, value.substring(0, 20) + j);
                            }
                            pending.add(async.hset("bench:hash:" + j, fields));
                        } else {
                            batch.put("bench:string:" + j, value + j);
                        }
                    }
                    pending.add(async.mset(batch));
                    if (pending.size() >= 2000) {
                        connection.flushCommands();
                        LettuceFutures.awaitAll(60, TimeUnit.SECONDS, pending.toArray(new RedisFuture[0]));
                        pending.clear();
                    }
                }
                connection.flushCommands();
                LettuceFutures.awaitAll(60, TimeUnit.SECONDS, pending.toArray(new RedisFuture[0]));
            }
            long used = Long.parseLong(mesh.redis("A").info("memory").lines()
                    .filter(l -> l.startsWith("used_memory:")).findFirst().orElseThrow().substring(12).trim());
            System.out.printf("filled A with %d keys (used_memory %d MB) in %.1f s%n", keys, used / (1024 * 1024),
                    (System.nanoTime() - fillStart) / 1e9);
            long captureStart = System.nanoTime();
            mesh.startCapture("A");
            mesh.awaitReady("A", "capture"); // A's first snapshot is published before it is ready
            System.out.printf("A's capture published its first snapshot and was ready after %.1f s%n",
                    (System.nanoTime() - captureStart) / 1e9);

            long joinStart = System.nanoTime();
            FerryRun join = FerryRun.of("join", "-c", mesh.local().configFile().toString(), "-i", mesh.id("B"),
                    "--from", mesh.id("A"));
            double seconds = (System.nanoTime() - joinStart) / 1e9;
            assertEquals(0, join.exitCode(), join.toString());
            assertEquals((long) keys, mesh.redis("B").dbsize() - mesh.redis("B").keys("__ferry:*").size());
            System.out.printf("JOIN: %d keys in %.1f s end to end (the command as run), %.0f keys/s, %.1f MB/s of used_memory%n",
                    keys, seconds, keys / seconds, used / (1024.0 * 1024) / seconds);
        }
    }
}
