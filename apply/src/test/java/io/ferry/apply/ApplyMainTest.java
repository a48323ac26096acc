package io.ferry.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.JvmProcess;
import io.ferry.localmesh.TestServers;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import io.ferry.schemas.ReplicationPolicy;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** The agent as a process: exit codes, SIGTERM, and the HTTP endpoints. */
class ApplyMainTest {

    private static final List<String> JVM = List.of("-Xmx128m", "-XX:TieredStopAtLevel=1");

    @Test
    void aBadConfigurationExitsWithTwoAndSaysWhatToFix() throws Exception {
        Path dir = TestServers.tempDir("apply-main");
        Path config = dir.resolve("mesh.yaml");
        Files.writeString(config, "mesh: x\ninstances:\n  a: {redis: {uri: \"http://nope\"}}\n");
        Path log = dir.resolve("apply.log");
        JvmProcess process = JvmProcess.start("apply", log, ApplyMain.class, JVM, "--config", config.toString(), "--instance", "a");
        assertEquals(2, process.waitFor(Duration.ofSeconds(60)));
        String output = Files.readString(log);
        assertTrue(output.contains("redis://host:port"), output);
        assertTrue(output.contains("at least two instances"), output);
    }

    @Test
    void servesReadinessAndMetricsAndStopsCleanlyOnSigterm() throws Exception {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            Path dir = TestServers.tempDir("apply-main");
            Path config = dir.resolve("mesh.yaml");
            Files.writeString(config, f.yaml);
            long last = f.produce(f.command("SET", "k", "v"), f.heartbeat());
            int port = io.ferry.localmesh.FreePorts.next();
            Path log = dir.resolve("apply.log");
            JvmProcess process = JvmProcess.start("apply", log, ApplyMain.class, JVM,
                    "--config", config.toString(), "--instance", f.self, "--http-port", String.valueOf(port));
            HttpClient http = HttpClient.newHttpClient();
            Await.until(Duration.ofSeconds(60), "agent ready (" + log + ")", () -> get(http, port, "/readyz").equals("ready\n"));
            Await.equal(Duration.ofSeconds(30), "event applied", last, f::checkpoint);
            String metrics = get(http, port, "/metrics");
            assertTrue(metrics.contains("ferry_apply_commands_total{instance=\"" + f.self + "\",peer=\"" + f.peer + "\"} 1.0"), metrics);
            assertTrue(metrics.contains("# HELP ferry_apply_lag_seconds"), metrics);
            int exit = process.stop();
            assertEquals(0, exit, "SIGTERM is a clean stop: exit 0, not the signal's 143");
            assertTrue(Files.readString(log).contains("apply agent for '" + f.self + "' stopped"), Files.readString(log));
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", f.kafka.bootstrap()))) {
                OffsetAndMetadata committed = admin.listConsumerGroupOffsets(ReplicationPolicy.applyGroup(f.self))
                        .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS).get(new TopicPartition(f.topic(), 0));
                assertEquals(last + 1, committed.offset(), "group offsets committed on the way out");
            }
        }
    }

    private static String get(HttpClient http, int port, String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return "unreachable " + e;
        }
    }
}
