package io.ferry.e2e.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.e2e.conflicts.ConflictTopicFixture;
import io.ferry.localmesh.Await;
import io.ferry.localmesh.FreePorts;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ConflictingWrite;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code ferry monitor} as an operator runs it: the mesh's conflict table as JSON, metrics and probes, stopped by SIGTERM. */
class MonitorCommandTest {

    private static final Duration WAIT = Duration.ofSeconds(90);
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void explainsItselfWithHelp() {
        CliErrorsTest.Run run = CliErrorsTest.ferry("monitor", "--help");
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().contains("Usage: ferry monitor"), run.toString());
        assertTrue(run.out().contains("/conflicts"), run.toString());
        assertTrue(run.out().contains("Exit codes:"), run.toString());
        assertTrue(CliErrorsTest.ferry("--help").out().contains("  monitor  "), "listed by ferry --help");
    }

    @Test
    void servesTheMeshsConflictTableAsJsonUntilSigterm() throws Exception {
        try (ConflictTopicFixture mesh = new ConflictTopicFixture("monitor", "a", "b")) {
            ConflictingWrite onA = mesh.write("a", 5, 2_000);
            ConflictingWrite onB = mesh.write("b", 6, 2_001);
            mesh.send(mesh.pair("a", "VALUE", "user:1", onB, onA, "lww", "b", "SKIPPED"),
                    mesh.pair("b", "VALUE", "user:1", onA, onB, "lww", "b", "REPAIR_FAILED"),
                    mesh.setnx("b", "a", "lock", 77));
            Path dir = TestServers.tempDir("monitor");
            Path file = dir.resolve("mesh.yaml");
            Files.writeString(file, mesh.meshYaml(FreePorts.next(), FreePorts.next()));
            int port = FreePorts.next();
            try (FerryProcess monitor = FerryProcess.start(dir.resolve("run"), "monitor", "--config", file.toString(),
                    "--http-bind", "127.0.0.1", "--http-port", String.valueOf(port), "--state-dir", dir.resolve("state").toString())) {
                String started = monitor.awaitLine(WAIT, line -> line.startsWith("ferry monitor " + mesh.mesh + ": "));
                assertTrue(started.contains("ferry." + mesh.id("a") + ".conflicts, ferry." + mesh.id("b") + ".conflicts"), started);
                assertTrue(started.contains("ferry." + mesh.mesh + ".conflicts.table"), started);

                Await.until(WAIT, "/readyz answers 200", () -> get(port, "/readyz").statusCode() == 200);
                Await.until(WAIT, "/conflicts lists the open pair and the SETNX", () -> {
                    String body = get(port, "/conflicts?state=open").body();
                    return body.contains("\"open\":2") && body.contains("\"key\":\"user:1\"") && body.contains("\"REPAIR_FAILED\"")
                            && body.contains("\"key\":\"lock\"");
                });
                String one = get(port, "/conflicts?key=user%3A1").body();
                assertTrue(one.startsWith("{\"mesh\":\"" + mesh.mesh + "\""), one);
                assertTrue(one.contains("\"id\":\"" + mesh.id("a") + "@5|" + mesh.id("b") + "@6\""), one);
                assertTrue(one.contains("\"matched\":1"), one);
                HttpResponse<String> bad = get(port, "/conflicts?state=closed");
                assertEquals(400, bad.statusCode(), bad.body());
                assertTrue(bad.body().contains("state=closed"), bad.body());
                String metrics = get(port, "/metrics").body();
                assertTrue(metrics.contains("ferry_monitor_conflicts{state=\"open\"} 2.0"), metrics);
                assertEquals(200, get(port, "/healthz").statusCode());

                assertEquals(0, monitor.terminate(WAIT), "SIGTERM stops it with 0:\n" + monitor.output() + "\n" + monitor.stderrTail());
                assertTrue(monitor.output().contains("ferry monitor " + mesh.mesh + ": stopped"), monitor.output());
            }
        }
    }

    private HttpResponse<String> get(int port, String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
