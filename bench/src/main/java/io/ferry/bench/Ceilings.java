package io.ferry.bench;

import io.ferry.bench.Results.Ceiling;
import io.ferry.localmesh.RedisBinary;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The source's own write rate before any replica is attached: the benchmark's generator flat out
 * (one pipelined connection, the same one every other figure uses) and, for reference, redis-benchmark.
 */
final class Ceilings {

    private Ceilings() {
    }

    static Ceiling measure(NativeReplication nat, RedisBinary binary, BenchConfig config, Benchmark.Progress progress) {
        progress.say("ceiling: SET flat out on the source, no replica attached (" + config.ceilingSeconds() + " s)");
        SetWorkload set = new SetWorkload("ceiling", "c:", config.valueBytes());
        double opsPerSecond;
        try (SourcePipes pipes = SourcePipes.standalone(nat.source().port())) {
            LoadGenerator generator = new LoadGenerator(pipes, config.markerIntervalMillis());
            LoadGenerator.Run run = generator.run(set, 0, config.ceilingSeconds(), Long.MAX_VALUE, System.nanoTime());
            opsPerSecond = run.achievedOpsPerSecond();
        }
        Double redisBenchmark = redisBenchmark(binary, nat.source().port(), config, progress);
        nat.sourceAdmin().flushall();
        progress.say(String.format("ceiling: %.0f ops/s (generator)%s", opsPerSecond,
                redisBenchmark == null ? "" : String.format(", %.0f ops/s (redis-benchmark)", redisBenchmark)));
        return new Ceiling(opsPerSecond, redisBenchmark, config.valueBytes(), set.respBytes(7));
    }

    private static Double redisBenchmark(RedisBinary binary, int port, BenchConfig config, Benchmark.Progress progress) {
        Path tool = binary.path().resolveSibling("redis-benchmark");
        if (!Files.isExecutable(tool)) {
            return null;
        }
        long requests = config.quick() ? 50_000 : 2_000_000;
        try {
            Process process = new ProcessBuilder(List.of(tool.toString(), "-h", "127.0.0.1", "-p", Integer.toString(port),
                    "-t", "set", "-P", "16", "-c", "50", "-d", Integer.toString(config.valueBytes()),
                    "-r", "1000000", "-n", Long.toString(requests), "--csv"))
                    .redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(5, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                return null;
            }
            for (String line : output.split("\r?\n")) {
                if (line.startsWith("\"SET\"")) {
                    return Double.parseDouble(line.split(",")[1].replace("\"", ""));
                }
            }
            progress.say("redis-benchmark gave no SET line: " + output.strip());
        } catch (IOException | RuntimeException e) {
            progress.say("redis-benchmark failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return null;
    }
}
