package io.ferry.e2e.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.TestServers;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The README's first command: {@code ./ferry demo}, checked the way a new user would try it. */
class DemoTest {

    private static final Pattern INSTANCE_LINE = Pattern.compile(
            "^\\s+(\\w+)\\s+redis-cli -p (\\d+)\\s+capture (http://\\S+/metrics)\\s+apply (http://\\S+/metrics)");

    @Test
    void demoPrintsWhereToConnectAndReplicatesAKeyWrittenToOneInstanceToTheOthers() throws Exception {
        Path dir = TestServers.tempDir("demo-test");
        try (FerryProcess demo = FerryProcess.start(dir, "demo", "--duration", "240")) {
            demo.awaitLine(Duration.ofSeconds(150), line -> line.startsWith("Converged in"));
            demo.awaitLine(Duration.ofSeconds(10), line -> line.startsWith("Running for"));

            Map<String, Integer> ports = new LinkedHashMap<>();
            Map<String, String> metrics = new LinkedHashMap<>();
            for (String line : demo.lines()) {
                Matcher m = INSTANCE_LINE.matcher(line);
                if (m.find()) {
                    ports.put(m.group(1), Integer.parseInt(m.group(2)));
                    metrics.put(m.group(1) + " capture", m.group(3));
                    metrics.put(m.group(1) + " apply", m.group(4));
                }
            }
            assertEquals(java.util.List.of("a", "b", "c"), java.util.List.copyOf(ports.keySet()), demo.output());
            assertTrue(demo.lines().stream().anyMatch(line -> line.matches("\\s+\"demo:a:bytes\"\\s+string \"\\\\x00\\\\x01ferry\\\\xff\"")),
                    "binary values are shown escaped:\n" + demo.output());

            byte[] key = "e2e:written-on-a".getBytes(StandardCharsets.UTF_8);
            byte[] value = {'v', 0, (byte) 0xfe};
            RedisClient client = RedisClient.create();
            try {
                Map<String, StatefulRedisConnection<byte[], byte[]>> redis = new LinkedHashMap<>();
                ports.forEach((id, port) -> redis.put(id, client.connect(ByteArrayCodec.INSTANCE, RedisURI.create("127.0.0.1", port))));
                redis.get("a").sync().set(key, value);
                for (String peer : java.util.List.of("b", "c")) {
                    Await.until(Duration.ofSeconds(30), "the key written on a to appear on " + peer,
                            () -> Arrays.equals(value, redis.get(peer).sync().get(key)));
                }
                redis.values().forEach(StatefulRedisConnection::close);
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            }

            HttpClient http = HttpClient.newHttpClient();
            for (Map.Entry<String, String> endpoint : metrics.entrySet()) {
                HttpResponse<String> scrape = http.send(HttpRequest.newBuilder(URI.create(endpoint.getValue())).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, scrape.statusCode(), endpoint.getKey());
                assertTrue(scrape.body().contains("ferry_"), endpoint.getKey() + " serves Ferry metrics");
                URI ready = URI.create(endpoint.getValue().replace("/metrics", "/readyz"));
                assertEquals(200, http.send(HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.ofString()).statusCode(),
                        endpoint.getKey() + " ready");
            }

            int exit = demo.terminate(Duration.ofSeconds(90));
            assertNotEquals(-1, exit, "the demo stops on SIGTERM; stdout:\n" + demo.output());
            assertTrue(demo.output().contains("Stopped."), demo.output());
            for (Map.Entry<String, Integer> port : ports.entrySet()) {
                assertFalse(accepts(port.getValue()), "redis-server of " + port.getKey() + " was stopped");
            }
        }
    }

    /** Whether something listens on loopback {@code port}. */
    static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
