package io.ferry.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.ReplicationPolicy;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.IntegerOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class CaptureFilterTest {

    @Test
    void everyFilteredCaseIsFilteredAndAUserDelOfAKeyWhoseTtlHasNotRunOutIsPublished() {
        RedisServer redis = TestServers.redis();
        String checkpoint = new String(ReplicationPolicy.checkpointKey("peer-x", 0), StandardCharsets.UTF_8);
        try (CaptureFixture.Running capture = new CaptureFixture.Running("filter", redis)) {
            RedisCommands<String, String> r = capture.redis();
            CaptureFixture.ChangeLog log = capture.log;
            r.set("start", "1");
            // never replicated: each instance owns these
            r.flushdb();
            r.flushall();
            r.publish("channel", "hello");
            r.dispatch(CommandType.SPUBLISH, new IntegerOutput<>(StringCodec.UTF8), new CommandArgs<>(StringCodec.UTF8).add("channel").add("hi"));
            r.swapdb(0, 1);
            r.swapdb(0, 1);
            r.functionLoad("#!lua name=lib\nredis.register_function('f', function(keys, args) return 1 end)");
            r.functionFlush(io.lettuce.core.FlushMode.SYNC);
            r.scriptFlush();
            // Ferry's own keys, and the local apply agent's writes on behalf of a peer
            r.set("__ferry:lock", "1");
            r.multi();
            r.set("applied-from-peer", "1");
            r.set(checkpoint, "7");
            r.exec();
            r.multi();
            r.del("missing"); // changes nothing: only the checkpoint SET is propagated, without MULTI
            r.set(checkpoint, "8");
            r.exec();
            // an expiry on the source is not replicated; a user's DEL of a key still alive is
            r.set("volatile", "v", io.lettuce.core.SetArgs.Builder.px(200));
            r.set("kept", "v", io.lettuce.core.SetArgs.Builder.ex(100));
            Await.until(Duration.ofSeconds(10), "volatile expired on the source", () -> r.exists("volatile") == 0);
            r.del("kept");
            r.set("end", "1");

            List<ChangeEvent> changes = log.changesUntil("SET end 1", Duration.ofSeconds(30));
            List<String> published = changes.stream().map(e -> CaptureFixture.text(e.getCommands().get(0))).toList();
            assertEquals(4, published.size(), "published before SET end 1: " + published);
            assertEquals("SET start 1", published.get(0));
            assertTrue(published.get(1).matches("SET volatile v PXAT \\d+"), published.get(1));
            assertTrue(published.get(2).matches("SET kept v PXAT \\d+"), published.get(2));
            assertEquals("DEL kept", published.get(3), "the user's DEL is published");

            String metrics = capture.registry.scrape();
            for (String command : List.of("FLUSHDB", "FLUSHALL", "PUBLISH", "SPUBLISH", "SWAPDB", "FUNCTION", "SET")) {
                assertTrue(CaptureFixture.counter(metrics, "ferry_capture_filtered_commands_total", "command=\"" + command + "\"") >= 1,
                        command + " counted as filtered:\n" + metrics);
            }
            assertEquals(2, CaptureFixture.counter(metrics, "ferry_capture_filtered_commands_total", "command=\"SWAPDB\""));
            assertEquals(1, CaptureFixture.counter(metrics, "ferry_capture_filtered_commands_total", "command=\"DEL\""), "the expiry DEL");
            assertEquals(2, CaptureFixture.counter(metrics, "ferry_capture_echoes_total", "origin=\"peer-x\""));
            for (String name : List.of("ferry_capture_events_total", "ferry_capture_commands_total", "ferry_capture_bytes_total",
                    "ferry_capture_lag_bytes", "ferry_capture_position_offset", "ferry_capture_full_resyncs_total",
                    "ferry_capture_reconnects_total", "ferry_capture_transactions_total")) {
                assertTrue(metrics.contains("\n" + name + "{") && metrics.contains("# HELP " + name + " "), name + " exported with a description");
            }
        }
    }
}
