package io.ferry.e2e.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.LocalMesh;
import io.ferry.localmesh.RedisBinary;
import io.ferry.localmesh.TestServers;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.ferry.schemas.ReplicationPolicy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** {@code ferry capture} and {@code ferry apply} as deployed: one process per agent, stopped with SIGTERM. */
class AgentCommandsTest {

    @Test
    void captureAndApplyProcessesReplicateAndExitZeroOnSigterm() throws Exception {
        String a = "ag" + Long.toHexString(System.nanoTime() & 0xffffff) + "-a";
        String b = a.substring(0, a.length() - 1) + "b";
        Path dir = TestServers.tempDir("agents");
        try (LocalMesh mesh = LocalMesh.start(dir, List.of(a, b), RedisBinary.preferred(), TestServers.kafka(), "")) {
            String config = mesh.configFile().toString();
            try (FerryProcess captureA = FerryProcess.start(dir.resolve("capture-a"), "capture", "--config", config, "--instance", a);
                 FerryProcess captureB = FerryProcess.start(dir.resolve("capture-b"), "capture", "--config", config, "--instance", b);
                 FerryProcess applyB = FerryProcess.start(dir.resolve("apply-b"), "apply", "--config", config, "--instance", b)) {
                captureA.awaitLine(Duration.ofSeconds(60), line -> line.startsWith("ferry capture " + a + ": Redis"));
                applyB.awaitLine(Duration.ofSeconds(60), line -> line.startsWith("ferry apply " + b + ": Redis"));

                RedisClient client = RedisClient.create();
                try (StatefulRedisConnection<String, String> onA = client.connect(RedisURI.create("127.0.0.1", mesh.redis(a).port()));
                     StatefulRedisConnection<String, String> onB = client.connect(RedisURI.create("127.0.0.1", mesh.redis(b).port()))) {
                    onA.sync().set("written-on", a);
                    Await.equal(Duration.ofSeconds(60), "the key written on " + a + " applied on " + b, a, () -> onB.sync().get("written-on"));
                } finally {
                    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
                }

                Await.until(Duration.ofSeconds(30), "status to show " + b + " caught up with " + a, () -> {
                    CliErrorsTest.Run status = CliErrorsTest.ferry("status", "--config", config, "--instance", b);
                    return status.exitCode() == 0 && status.out().contains("apply    from " + a + " ferry." + a + ".changes-0: checkpoint ")
                            && status.out().contains("(caught up)");
                });

                int applyPort = mesh.config().instance(b).applyHttpPort();
                assertEquals("ready\n", get(applyPort, "/readyz"));
                String metrics = get(applyPort, "/metrics");
                assertTrue(metrics.contains("ferry_apply_commands_total{instance=\"" + b + "\",peer=\"" + a + "\"}"), metrics);
                assertTrue(metrics.contains("# HELP ferry_apply_lag_seconds"), metrics);

                for (FerryProcess agent : List.of(applyB, captureB, captureA)) {
                    assertEquals(0, agent.terminate(Duration.ofSeconds(60)), "SIGTERM stops cleanly with 0:\n" + agent.output()
                            + "\nstderr:\n" + agent.stderrTail());
                    assertTrue(agent.output().contains(": stopped"), agent.output());
                }
                try (Admin admin = Admin.create(Map.of("bootstrap.servers", TestServers.kafka().bootstrap()))) {
                    OffsetAndMetadata committed = admin.listConsumerGroupOffsets(ReplicationPolicy.applyGroup(b))
                            .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS)
                            .get(new TopicPartition(ReplicationPolicy.changesTopic(a), 0));
                    assertTrue(committed != null && committed.offset() > 0, "group offsets committed on the way out: " + committed);
                }
            }
        }
    }

    private static String get(int port, String path) {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return "unreachable " + e;
        }
    }
}
