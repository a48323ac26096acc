package io.ferry.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisBinary;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ChangeEvent;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A source under maxmemory evicts keys while a user deletes others, re-creates some of them and they
 * get evicted in turn: the topic holds exactly the users' DELs, and every eviction is counted as filtered.
 */
class CaptureEvictionTest {

    private static final int WRITES = 12_000;
    private static final String VALUE = "x".repeat(1024);

    static Stream<RedisBinary> redisVersions() {
        return Stream.of(TestServers.redis62(), TestServers.redis70());
    }

    @ParameterizedTest(name = "Redis {0}")
    @MethodSource("redisVersions")
    void dels_caused_by_eviction_are_filtered_and_users_dels_are_published(RedisBinary binary) {
        RedisServer redis = TestServers.redis(binary, "--maxmemory", "4mb", "--maxmemory-policy", "allkeys-random");
        try (CaptureFixture.Running capture = new CaptureFixture.Running("evict", redis)) {
            RedisCommands<String, String> r = capture.redis();
            CaptureFixture.ChangeLog log = capture.log;
            String flags = r.configGet("notify-keyspace-events").get("notify-keyspace-events");
            assertTrue(flags.contains("E") && flags.contains("e"), "the capture switched on evicted events: '" + flags + "'");
            r.set("start", "1");

            List<String> userDeleted = new ArrayList<>();
            for (int i = 0; i < WRITES; i++) {
                r.set("fill:" + i, VALUE);
                if (i % 10 == 9) {
                    // a user's DEL of a recent key (may already be evicted: then nothing is propagated)
                    String key = "fill:" + (i - 5);
                    if (r.del(key) == 1) {
                        userDeleted.add(key);
                    }
                    // the same name again: it may be evicted later, after the user's DEL of it
                    r.set(key, VALUE);
                }
            }
            r.set("end", "1");

            List<ChangeEvent> changes = log.changesUntil("SET end 1", Duration.ofSeconds(60));
            List<String> publishedDels = new ArrayList<>();
            for (ChangeEvent e : changes) {
                String command = CaptureFixture.text(e.getCommands().get(0));
                if (command.startsWith("DEL ") || command.startsWith("UNLINK ")) {
                    publishedDels.add(command.substring(command.indexOf(' ') + 1));
                }
            }
            Collections.sort(publishedDels);
            Collections.sort(userDeleted);
            assertTrue(userDeleted.size() > 100, "users' DELs took effect (" + userDeleted.size() + ")");
            assertEquals(userDeleted, publishedDels, "exactly the users' DELs are published");

            // any command may evict a few more keys while memory settles under the limit
            Await.until(Duration.ofSeconds(30), "every eviction counted as filtered", () ->
                    capture.metric("ferry_capture_filtered_commands_total", "reason=\"evicted on the source\"")
                            == Long.parseLong(info(r, "evicted_keys")));
            long evicted = Long.parseLong(info(r, "evicted_keys"));
            assertTrue(evicted > 1_000, "the source evicted keys (" + evicted + ")");
            assertEquals(1, capture.metric("ferry_capture_eviction_filter_active", ""),
                    "filter reported active");
        }
    }

    private static String info(RedisCommands<String, String> r, String field) {
        Matcher m = Pattern.compile("^" + field + ":(\\S+)", Pattern.MULTILINE).matcher(r.info("stats"));
        assertTrue(m.find(), field + " in INFO stats");
        return m.group(1);
    }
}
