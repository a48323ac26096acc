package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.TestServers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * End-to-end throughput: {@code redis-benchmark -t set -P 64} writes on A; the clock stops when B's
 * apply agent has applied every one of those SETs (its ferry_apply_commands_total for peer A).
 * Ops per second = benchmark SETs / (time until all are applied on B − benchmark start).
 * {@code -Dferry.throughput.ops=N} sizes the run (default 300000).
 */
class ThroughputTest {

    @Test
    void measuresWritesPerSecondFromOneInstanceUntilVisibleOnAnother() throws Exception {
        int ops = Integer.getInteger("ferry.throughput.ops", 300_000);
        try (MeshUnderTest mesh = MeshUnderTest.servers(TestServers.kafka(), null, "A", "B").withFullJit()) {
            mesh.startAgents();
            String peerA = "peer=\"" + mesh.id("A") + "\"";
            double base = mesh.metric("B", "apply", "ferry_apply_commands_total", peerA);
            double capturedBase = mesh.metric("A", "capture", "ferry_capture_commands_total");
            Path log = Files.createTempFile("redis-benchmark", ".log");
            long start = System.nanoTime();
            Process bench = new ProcessBuilder(List.of("redis-benchmark", "-h", "127.0.0.1",
                    "-p", String.valueOf(mesh.local().redis(mesh.id("A")).port()),
                    "-t", "set", "-n", String.valueOf(ops), "-P", "64", "-r", "100000", "-q"))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            assertTrue(bench.waitFor(5, TimeUnit.MINUTES), "redis-benchmark did not finish");
            assertEquals(0, bench.exitValue(), Files.readString(log));
            long benchDone = System.nanoTime();
            long[] published = {0};
            Await.until(Duration.ofMinutes(5), "B applied all " + ops + " SETs", () -> {
                if (published[0] == 0 && mesh.metric("A", "capture", "ferry_capture_commands_total") - capturedBase >= ops) {
                    published[0] = System.nanoTime();
                }
                return mesh.metric("B", "apply", "ferry_apply_commands_total", peerA) - base >= ops;
            });
            long applied = System.nanoTime();
            if (published[0] == 0) {
                published[0] = applied;
            }
            Await.until(Duration.ofSeconds(60), "same number of keys on A and B",
                    () -> mesh.redis("A").dbsize().equals(mesh.redis("B").dbsize() - 0));
            double benchSeconds = (benchDone - start) / 1e9;
            double endToEndSeconds = (applied - start) / 1e9;
            double maxLatency = mesh.metric("B", "apply", "ferry_apply_latency_seconds_max", peerA);
            double publishedSeconds = (published[0] - start) / 1e9;
            System.out.printf("THROUGHPUT: %d SETs (redis-benchmark -P 64) written on A in %.1f s (%.0f ops/s), published by A's capture"
                    + " after %.1f s (%.0f ops/s), all applied on B after %.1f s: %.0f ops/s end to end; max apply latency %.2f s; %s%n",
                    ops, benchSeconds, ops / benchSeconds, publishedSeconds, ops / publishedSeconds,
                    endToEndSeconds, ops / endToEndSeconds, maxLatency,
                    summary(Files.readString(log)));
            assertTrue(ops / endToEndSeconds > 1000, "end-to-end throughput below 1000 ops/s");
        }
    }

    /** redis-benchmark's closing line ("SET: N requests per second, p50=…"), without its progress updates. */
    private static String summary(String output) {
        String[] parts = output.split("[\\r\\n]+");
        return "redis-benchmark: " + parts[parts.length - 1].strip();
    }
}
