package io.ferry.bench;

import io.ferry.bench.Results.CatchUp;
import io.ferry.bench.Results.Delivered;
import io.ferry.bench.Results.Latency;
import io.ferry.bench.Results.Sustained;
import io.ferry.bench.Results.SystemResult;
import io.ferry.bench.Results.Window;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * Measures one replication (native or Ferry) with the same load, the same probes and the same
 * criteria: sustained throughput (SET, then a mixed workload), end-to-end latency at fixed open-loop
 * rates, catch-up after delivery was paused, CPU per operation, peak memory, and whether every write
 * arrived.
 */
final class Benchmark {

    static final int EXTRA_WINDOWS_WHILE_NONE_BOUNDED = 2;

    private final BenchConfig config;
    private final Progress progress;

    Benchmark(BenchConfig config, Progress progress) {
        this.config = config;
        this.progress = progress;
    }

    /** Prints what the benchmark is doing, with the elapsed time, so a long run can be followed. */
    interface Progress {
        void say(String message);
    }

    SystemResult measure(ReplicationUnderTest system) {
        String name = system.name();
        try (SourcePipes pipes = system.openSourcePipes();
             RedisAdmin sourceAdmin = new RedisAdmin(system.source().port());
             RedisAdmin targetAdmin = new RedisAdmin(system.target().port())) {
            LoadGenerator generator = new LoadGenerator(pipes, config.markerIntervalMillis());
            try (VisibilityWatch watch = new VisibilityWatch(system.target().port(), pipes.routing().markerKeys(), generator.markers(), 5)) {
                Measurement m = new Measurement(system, generator, watch, targetAdmin);
                m.warmUp();
                Sustained set = m.sustained(new SetWorkload("set", "k:", config.valueBytes()),
                        config.windowSeconds(), config.maxWindows());
                List<Latency> latency = new ArrayList<>();
                for (int rate : config.latencyRates()) {
                    latency.add(m.latency(rate, "main"));
                }
                if (system instanceof FerryOneWay ferry && config.hasLatencyProfile()) {
                    // the capture's transaction length trades latency for throughput: measure both settings
                    progress.say(name + ": restarting capture with the latency settings " + config.latencyProfileDescription());
                    ferry.restartCapture(config.latencyMeshSettings(), config.latencyClientProperties(), Duration.ofMinutes(2));
                    m.warmUp();
                    for (int rate : config.latencyRates()) {
                        latency.add(m.latency(rate, "latency"));
                    }
                    progress.say(name + ": restarting capture with the main settings");
                    ferry.restartCapture(config.meshSettings(), config.kafkaProperties(), Duration.ofMinutes(2));
                    m.warmUp();
                }
                MixedWorkload mixed = new MixedWorkload(config.mixedKeysPerType(), config.valueBytes());
                Sustained mixedResult = m.sustained(mixed, config.mixedWindowSeconds(), config.mixedMaxWindows());
                CatchUp catchUp = m.catchUp();
                Map<String, Long> rss = new LinkedHashMap<>();
                system.processes().forEach((role, pid) -> rss.put(role, ProcessStats.peakRssBytes(pid)));
                Map<String, Double> agentMetrics = new LinkedHashMap<>();
                if (system instanceof FerryOneWay ferry) {
                    rss.put("apply", ferry.applyPeakRss());
                    rss.put("capture", ferry.capturePeakRss());
                    agentMetrics.putAll(ferryMetrics(ferry));
                }
                Delivered delivered = m.verify(sourceAdmin, mixed);
                return new SystemResult(name, set, mixedResult, latency, catchUp, rss, agentMetrics, delivered);
            }
        }
    }

    /**
     * Ferry from a Redis Cluster source: the SET load spread over its masters by slot, each shard with its
     * own progress marker. Sustained SET throughput and latency at the configured rates, measured as for
     * a standalone source; every write delivered is checked by key count (the sum over the masters).
     */
    Results.ClusterRun measureCluster(FerryOneWay ferry, int shards) {
        try (SourcePipes pipes = ferry.openSourcePipes();
             RedisAdmin targetAdmin = new RedisAdmin(ferry.target().port())) {
            LoadGenerator generator = new LoadGenerator(pipes, config.markerIntervalMillis());
            try (VisibilityWatch watch = new VisibilityWatch(ferry.target().port(), pipes.routing().markerKeys(), generator.markers(), 5)) {
                Measurement m = new Measurement(ferry, generator, watch, targetAdmin);
                m.warmUp();
                Sustained set = m.sustained(new SetWorkload("set", "k:", config.valueBytes()), config.windowSeconds(), config.maxWindows());
                List<Latency> latency = new ArrayList<>();
                for (int rate : config.latencyRates()) {
                    latency.add(m.latency(rate, "main"));
                }
                boolean drained = watch.awaitSeq(generator.nextSeq(), Duration.ofMinutes(5));
                long sourceKeys = 0;
                for (io.ferry.localmesh.RedisServer master : ferry.sourceMasters()) {
                    try (RedisAdmin admin = new RedisAdmin(master.port())) {
                        sourceKeys += admin.dbsize();
                    }
                }
                long targetKeys = targetAdmin.dbsize();
                long reserved = targetAdmin.countKeys("__ferry:*");
                boolean all = drained && targetKeys - reserved == sourceKeys && generator.errors() == 0;
                progress.say(String.format("%s: delivered: source %d keys on %d masters, target %d (+%d reserved), %d write errors -> %s",
                        ferry.name(), sourceKeys, shards, targetKeys - reserved, reserved, generator.errors(),
                        all ? "every write delivered" : "NOT every write delivered"));
                Map<String, Long> rss = new LinkedHashMap<>();
                rss.put("capture", ferry.capturePeakRss());
                rss.put("apply", ferry.applyPeakRss());
                return new Results.ClusterRun(shards, set, latency, rss,
                        new Delivered(sourceKeys, targetKeys, reserved, 0, 0, generator.errors(), all));
            }
        }
    }

    private static Map<String, Double> ferryMetrics(FerryOneWay ferry) {
        Map<String, Double> metrics = new LinkedHashMap<>();
        for (AgentEndpoint endpoint : ferry.endpoints()) {
            for (String line : endpoint.metrics().split("\n")) {
                if (line.startsWith("ferry_") && !line.startsWith("#")) {
                    int space = line.lastIndexOf(' ');
                    String series = line.substring(0, space);
                    try {
                        metrics.merge(series, Double.parseDouble(line.substring(space + 1)), Double::sum);
                    } catch (NumberFormatException ignored) {
                        // not a sample
                    }
                }
            }
        }
        return metrics;
    }

    /** The measurements of one system, sharing its generator (sequence numbers never repeat) and watch. */
    private final class Measurement {

        private final ReplicationUnderTest system;
        private final LoadGenerator generator;
        private final VisibilityWatch watch;
        private final RedisAdmin targetAdmin;

        Measurement(ReplicationUnderTest system, LoadGenerator generator, VisibilityWatch watch, RedisAdmin targetAdmin) {
            this.system = system;
            this.generator = generator;
            this.watch = watch;
            this.targetAdmin = targetAdmin;
        }

        private String name() {
            return system.name();
        }

        /** Writes flat out for a while (JIT compilation, connection set-up), then waits for the target. */
        void warmUp() {
            progress.say(name() + ": warm-up");
            generator.run(new SetWorkload("warm-up", "w:", config.valueBytes()), 0, config.warmupSeconds(),
                    config.warmupMaxItems(), System.nanoTime());
            drain();
        }

        /** Waits until the target shows every write so far; false if it did not within the timeout. */
        boolean drain() {
            Duration timeout = Duration.ofSeconds((long) Math.max(60, 3 * config.windowSeconds() + 30));
            boolean done = watch.awaitSeq(generator.nextSeq(), timeout);
            if (!done) {
                progress.say(name() + ": target still behind after " + timeout + " (at " + watch.seenSeq()
                        + " of " + generator.nextSeq() + ")");
            }
            return done;
        }

        /**
         * A short closed-loop probe suggests a rate (what the target absorbed); open-loop windows then look
         * for the highest offered rate at which the lag stays bounded: up by half while every window is
         * bounded, then halfway between the best bounded and the lowest unbounded rate (below what the
         * target managed while none is bounded), at most {@code maxWindows} windows, plus up to
         * {@link #EXTRA_WINDOWS_WHILE_NONE_BOUNDED} more in a full run while none is bounded yet (a window the
         * machine starved, e.g. of stolen CPU, must not leave a system without a figure).
         */
        Sustained sustained(Workload workload, double seconds, int maxWindows) {
            progress.say(name() + ": " + workload.name() + " probe (closed loop, " + config.probeSeconds() + " s)");
            long start = System.nanoTime() + 20_000_000L;
            LoadGenerator.Run probe = generator.run(workload, 0, config.probeSeconds(), config.probeMaxItems(), start);
            double opsPerItem = (double) probe.ops() / Math.max(1, probe.items());
            // the target's rate: everything the probe wrote, until the target showed the last of it
            double probeTarget = drain() && watch.seenAtNanos() > start
                    ? probe.items() / ((watch.seenAtNanos() - start) / 1e9) : 0;
            double candidate = Math.min(probeTarget, probe.itemsPerSecond());
            List<Window> windows = new ArrayList<>();
            Window best = null;
            double lowestUnbounded = Double.MAX_VALUE;
            boolean failed = false;
            int extra = config.quick() ? 0 : EXTRA_WINDOWS_WHILE_NONE_BOUNDED;
            for (int i = 0; (i < maxWindows || (best == null && i < maxWindows + extra)) && candidate > 0; i++) {
                Window window = window(workload, candidate, seconds, opsPerItem);
                windows.add(window);
                if (window.bounded()) {
                    best = best == null || window.offeredOpsPerSecond() > best.offeredOpsPerSecond() ? window : best;
                } else {
                    failed = true;
                    lowestUnbounded = Math.min(lowestUnbounded, candidate);
                }
                double bestRate = best == null ? 0 : best.offeredOpsPerSecond() / opsPerItem;
                if (best == null) {
                    // nothing bounded yet: below what the target managed
                    candidate = 0.9 * Math.min(window.targetOpsPerSecond() / opsPerItem, 0.95 * candidate);
                } else if (!failed) {
                    candidate *= 1.5;
                } else if (lowestUnbounded / bestRate > 1.05) {
                    candidate = (bestRate + lowestUnbounded) / 2;
                } else {
                    break;
                }
            }
            Window reported = best != null ? best : windows.isEmpty() ? null : windows.get(windows.size() - 1);
            return new Sustained(workload.name(), best == null ? null : best.achievedOpsPerSecond(), failed,
                    probeTarget * opsPerItem, windows, reported == null ? Map.of() : reported.cpuSecondsPer1kOps());
        }

        private double targetItemsPerSecond(long from, long to, double fallback) {
            List<VisibilityWatch.Sample> samples = watch.between(from, to);
            if (samples.size() < 2) {
                return fallback;
            }
            VisibilityWatch.Sample first = samples.get(0);
            VisibilityWatch.Sample last = samples.get(samples.size() - 1);
            if (last.nanos() == first.nanos()) {
                return fallback;
            }
            return (last.seq() - first.seq()) / ((last.nanos() - first.nanos()) / 1e9);
        }

        private Window window(Workload workload, double itemsPerSecond, double seconds, double opsPerItem) {
            progress.say(String.format("%s: %s window at %.0f ops/s for %.0f s", name(), workload.name(),
                    itemsPerSecond * opsPerItem, seconds));
            Map<String, Double> cpuBefore = cpu();
            long start = System.nanoTime() + 20_000_000L;
            LoadGenerator.Run run = generator.run(workload, itemsPerSecond, seconds, Long.MAX_VALUE, start, 1_000_000L);
            long end = run.endNanos();
            List<VisibilityWatch.Sample> secondHalf = watch.between(start + (end - start) / 2, end);
            double maxLagMs = secondHalf.stream().mapToLong(VisibilityWatch.Sample::lagNanos).max().orElse(0) / 1e6;
            double endLagMs = secondHalf.isEmpty() ? 0 : secondHalf.get(secondHalf.size() - 1).lagNanos() / 1e6;
            // the target's pace in the second half, when a steady lag no longer hides part of the window
            double target = targetItemsPerSecond(start + (end - start) / 2, end, 0) * opsPerItem;
            long drainStart = System.nanoTime();
            boolean drained = drain();
            double drainSeconds = (System.nanoTime() - drainStart) / 1e9;
            Map<String, Double> perThousand = new LinkedHashMap<>();
            Map<String, Double> cpuAfter = cpu();
            cpuBefore.forEach((role, before) -> perThousand.put(role,
                    (cpuAfter.getOrDefault(role, Double.NaN) - before) / (run.ops() / 1000.0)));
            // bounded: the source took the offered load, the target kept pace with it, and the lag in the
            // second half never passed the bound
            boolean bounded = run.itemsPerSecond() >= 0.95 * itemsPerSecond
                    && target >= 0.85 * run.achievedOpsPerSecond()
                    && maxLagMs <= config.lagBoundMillis() && drained;
            progress.say(String.format("%s:   achieved %.0f ops/s, target %.0f ops/s, max lag %.0f ms -> %s", name(),
                    run.achievedOpsPerSecond(), target, maxLagMs, bounded ? "bounded" : "NOT bounded"));
            return new Window(workload.name(), itemsPerSecond * opsPerItem, run.achievedOpsPerSecond(), target,
                    maxLagMs, endLagMs, drainSeconds, bounded, perThousand);
        }

        private Map<String, Double> cpu() {
            Map<String, Double> cpu = new LinkedHashMap<>();
            system.processes().forEach((role, pid) -> cpu.put(role, ProcessStats.cpuSeconds(pid)));
            cpu.put("load-generator", ProcessStats.cpuSeconds(ProcessHandle.current().pid()));
            return cpu;
        }

        /** Open loop at {@code rate}; latency from each item's intended send time to its keyspace event on the target. */
        Latency latency(int rate, String profile) {
            progress.say(name() + ": latency at " + rate + " ops/s (open loop" + (profile.equals("main") ? "" : ", " + profile + " settings") + ")");
            targetAdmin.configSet("notify-keyspace-events", "E$");
            try (ArrivalRecorder recorder = new ArrivalRecorder(system.target().port())) {
                long warm = (long) (rate * config.latencyWarmupSeconds());
                long measured = (long) (rate * config.latencySeconds());
                AgentEndpoint apply = system instanceof FerryOneWay ferry ? ferry.applyEndpoint() : null;
                java.util.TreeMap<Double, Double> stageBefore = apply == null ? null : apply.histogram(APPLY_LATENCY);
                double stageSumBefore = apply == null ? 0 : apply.metric(APPLY_LATENCY + "_sum").orElse(0);
                long first = generator.nextSeq();
                ProcessStats.MachineCpu cpuBefore = ProcessStats.MachineCpu.now();
                long start = System.nanoTime() + 50_000_000L;
                recorder.arm(first, first + warm, first + warm + measured - 1, start, 1e9 / rate);
                generator.run(new SetWorkload("latency", "lat:", config.valueBytes()), rate,
                        config.latencyWarmupSeconds() + config.latencySeconds() + 5, warm + measured, start);
                drain();
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (recorder.received() < measured && System.nanoTime() < deadline) {
                    NativeReplication.sleep(10);
                }
                Histogram h = recorder.snapshot();
                ProcessStats.MachineCpu.Share machine = ProcessStats.MachineCpu.now().since(cpuBefore);
                Results.ApplyStage stage = apply == null ? null
                        : applyStage(stageBefore, apply.histogram(APPLY_LATENCY),
                                apply.metric(APPLY_LATENCY + "_sum").orElse(0) - stageSumBefore);
                Latency result = new Latency(profile, rate, ms(h.getValueAtPercentile(50)), ms(h.getValueAtPercentile(99)),
                        ms(h.getValueAtPercentile(99.9)), ms(h.getMaxValue()), h.getTotalCount(),
                        measured - recorder.received(), stage, machine.busyPercent(), machine.stealPercent());
                progress.say(String.format("%s:   p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms (%d measured, %d missing; machine CPU %.0f%% busy, %.0f%% stolen)",
                        name(), result.p50Ms(), result.p99Ms(), result.p999Ms(), result.measured(), result.missing(),
                        result.machineBusyPercent(), result.machineStealPercent()));
                if (stage != null) {
                    progress.say(String.format("%s:   of which capture read -> applied: mean %.2f ms, p50 <= %.2f ms, p99 <= %.2f ms",
                            name(), stage.meanMs(), stage.p50UpToMs(), stage.p99UpToMs()));
                }
                if (result.missing() > 0) {
                    progress.say(name() + ":   missing e.g. lat:" + recorder.missingSample() + " (armed " + (first + warm)
                            + ".." + (first + warm + measured - 1) + ", highest seen " + recorder.maxSeqSeen() + ")");
                }
                return result;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot subscribe to the target's keyspace events", e);
            } finally {
                targetAdmin.configSet("notify-keyspace-events", "");
            }
        }

        /** Delivery paused while {@code catchUpOps} writes pile up, then resumed: how fast does the target catch up? */
        CatchUp catchUp() {
            drain();
            progress.say(name() + ": catch-up, delivery paused, writing " + config.catchUpOps() + " SETs");
            system.pauseDelivery();
            long bytesBefore = system.streamBytes();
            long seenBefore = watch.seenSeq();
            long writesBefore = generator.writes();
            LoadGenerator.Run run = generator.run(new SetWorkload("catch-up", "u:", config.valueBytes()), 0,
                    3600, config.catchUpOps(), System.nanoTime());
            long writes = generator.writes() - writesBefore;
            system.awaitStored(writes, Duration.ofMinutes(10));
            double storedSeconds = (System.nanoTime() - run.startNanos()) / 1e9;
            long bytesAfter = system.streamBytes();
            long resumed = System.nanoTime();
            system.resumeDelivery();
            long deadline = resumed + Duration.ofMinutes(10).toNanos();
            while (watch.seenSeq() == seenBefore && System.nanoTime() < deadline) {
                NativeReplication.sleep(1);
            }
            long firstAt = watch.seenAtNanos();
            long firstSeq = watch.seenSeq();
            boolean done = watch.awaitSeq(generator.nextSeq(), Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            long doneAt = watch.seenAtNanos();
            // from the first visible progress (the resume handshake is reported apart); if everything became
            // visible at once, from the resume itself
            double rate = !done ? 0 : doneAt > firstAt
                    ? (generator.nextSeq() - firstSeq) / ((doneAt - firstAt) / 1e9)
                    : (generator.nextSeq() - seenBefore) / ((doneAt - resumed) / 1e9);
            CatchUp result = new CatchUp(run.items(), rate, (firstAt - resumed) / 1e9, (doneAt - resumed) / 1e9,
                    run.items() / storedSeconds, (double) (bytesAfter - bytesBefore) / writes,
                    (double) run.bytes() / writes, system.resumeMode());
            progress.say(String.format("%s:   caught up at %.0f ops/s (first progress after %.2f s, %.1f stored bytes/op, %.1f RESP bytes/op)",
                    name(), result.opsPerSecond(), result.secondsToFirstProgress(), result.streamBytesPerOp(), result.respBytesPerOp()));
            return result;
        }

        /** Every write visible on the target: key counts (every SET key is new) and the mixed keys compared value by value. */
        Delivered verify(RedisAdmin sourceAdmin, MixedWorkload mixed) {
            boolean drained = watch.awaitSeq(generator.nextSeq(), Duration.ofMinutes(5));
            long sourceKeys = sourceAdmin.dbsize();
            long targetKeys = targetAdmin.dbsize();
            long reserved = targetAdmin.countKeys("__ferry:*");
            int mismatches = 0;
            List<String> keys = mixed.allKeys();
            List<byte[]> sourceDumps = sourceAdmin.dumpAll(keys);
            List<byte[]> targetDumps = targetAdmin.dumpAll(keys);
            for (int i = 0; i < keys.size(); i++) {
                // identical serialisations prove equality; otherwise compare the values themselves
                if (!java.util.Arrays.equals(sourceDumps.get(i), targetDumps.get(i))
                        && !sameValue(sourceAdmin, targetAdmin, keys.get(i))) {
                    mismatches++;
                }
            }
            boolean all = drained && targetKeys - reserved == sourceKeys && mismatches == 0 && generator.errors() == 0;
            progress.say(String.format("%s: delivered: source %d keys, target %d (+%d reserved), %d of %d mixed keys differ, %d write errors -> %s",
                    name(), sourceKeys, targetKeys - reserved, reserved, mismatches, keys.size(), generator.errors(),
                    all ? "every write delivered" : "NOT every write delivered"));
            if (generator.errors() > 0) {
                progress.say(name() + ": last write error: " + generator.lastError());
            }
            return new Delivered(sourceKeys, targetKeys, reserved, keys.size(), mismatches, generator.errors(), all);
        }
    }

    private static boolean sameValue(RedisAdmin source, RedisAdmin target, String key) {
        return source.value(key).equals(target.value(key));
    }

    private static final String APPLY_LATENCY = "ferry_apply_latency_seconds";

    /** The histogram's growth between two scrapes: event count, mean and the bucket bounds holding p50 and p99. */
    private static Results.ApplyStage applyStage(java.util.TreeMap<Double, Double> before, java.util.TreeMap<Double, Double> after,
                                                 double sumSeconds) {
        if (after.isEmpty()) {
            return null;
        }
        double total = after.lastEntry().getValue() - before.getOrDefault(after.lastKey(), 0.0);
        double p50 = Double.NaN;
        double p99 = Double.NaN;
        for (Map.Entry<Double, Double> bucket : after.entrySet()) {
            double cumulative = bucket.getValue() - before.getOrDefault(bucket.getKey(), 0.0);
            if (Double.isNaN(p50) && cumulative >= 0.5 * total) {
                p50 = bucket.getKey() * 1000;
            }
            if (Double.isNaN(p99) && cumulative >= 0.99 * total) {
                p99 = bucket.getKey() * 1000;
            }
        }
        return new Results.ApplyStage((long) total, total == 0 ? Double.NaN : sumSeconds * 1000 / total, p50, p99);
    }

    private static double ms(long micros) {
        return micros / 1000.0;
    }
}
