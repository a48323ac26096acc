package io.ferry.capture.eviction;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.topology.RedisEndpoint;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The watch's rounds (ROLE plus PING) cost the source a command each: with no DEL waiting for a decision
 * it runs one every 100 ms, never back to back, whether or not the source can evict.
 */
class EvictionWatchTest {

    @ParameterizedTest(name = "maxmemory {0}")
    @ValueSource(strings = {"0", "64mb"})
    void an_idle_watch_does_not_hammer_the_source(String maxmemory) throws Exception {
        RedisServer redis = TestServers.redis("--maxmemory", maxmemory, "--maxmemory-policy", "allkeys-lru");
        RedisClient client = RedisClient.create("redis://127.0.0.1:" + redis.port());
        try (StatefulRedisConnection<String, String> connection = client.connect();
             EvictionWatch watch = new EvictionWatch(new RedisEndpoint("127.0.0.1", redis.port(), false, null, null))) {
            assertTrue(watch.awaitFirstAttempt(10_000), "the watch is active: " + watch.inactiveReason());
            RedisCommands<String, String> r = connection.sync();
            r.configResetstat();
            long start = System.nanoTime();
            Thread.sleep(2_000);
            double seconds = (System.nanoTime() - start) / 1e9;
            long roles = calls(r.info("commandstats"), "role");
            // 10 idle rounds a second, with room for a slow scheduler; a spinning watch makes thousands
            assertTrue(roles <= 12 * seconds + 2, roles + " ROLE calls in " + seconds + " s");
            assertTrue(roles >= 1, "idle rounds still run (they prune the ledger)");
            assertFalse(watch.evicted(0, "never-evicted".getBytes(), 1, 2, System.nanoTime()),
                    "a DEL without an evicted event is a user's DEL");
        } finally {
            client.shutdown();
        }
    }

    private static long calls(String commandStats, String command) {
        Matcher m = Pattern.compile("cmdstat_" + command + ":calls=(\\d+)").matcher(commandStats);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }
}
