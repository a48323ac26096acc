package io.ferry.bench;

import io.ferry.bench.Results.Ceiling;
import io.ferry.bench.Results.Machine;
import io.ferry.bench.Results.SystemResult;
import io.ferry.bench.Results.TargetCheck;
import io.ferry.localmesh.LocalKafka;
import io.ferry.localmesh.RedisBinary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code java -jar bench/target/ferry-bench.jar [--quick] [--out results.json]}: starts every server and
 * agent on loopback, measures the source's own write rate, native replication and Ferry one way in the
 * same run (Ferry once per conflict policy asked for, each on a fresh broker), prints the tables and
 * writes the JSON file.
 */
public final class BenchMain {

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--help")) {
            System.out.print(BenchConfig.USAGE);
            return;
        }
        BenchConfig config;
        try {
            config = BenchConfig.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        List<Results> runs = run(config);
        List<Results.ClusterRun> clusterRuns = runs.isEmpty() ? List.of() : runs.get(0).clusterRuns();
        for (Results results : runs) {
            System.out.println();
            System.out.print(ResultsTable.render(results));
            System.out.println();
            print(results.targets(), runs.size() > 1 ? results.conflictPolicy() + ": " : "");
        }
        if (runs.size() > 1) {
            PolicyComparison comparison = PolicyComparison.of(runs);
            System.out.println();
            System.out.print(ResultsTable.renderComparison(runs, comparison));
            System.out.println();
            comparison.policies().forEach(p -> print(p.checks(), ""));
        }
        if (!clusterRuns.isEmpty()) {
            System.out.println();
            System.out.print(ResultsTable.renderCluster(runs.get(0).ferry(), runs.get(0).conflictPolicy(), clusterRuns));
        }
        System.out.println("results: " + config.out().toAbsolutePath());
    }

    private static void print(List<TargetCheck> checks, String prefix) {
        for (TargetCheck check : checks) {
            System.out.printf("%-4s %s%s: %s (target %s%s)%n", check.met() ? "ok" : "MISS", prefix, check.figure(),
                    check.value() == null ? "-" : String.format(java.util.Locale.ROOT, "%.2f", check.value()),
                    check.target(), check.aim().isEmpty() ? "" : ", aim " + check.aim());
        }
    }

    /**
     * Runs the whole benchmark and writes {@code config.out()}: one result per conflict policy, in the order
     * asked, all sharing the source ceiling and native replication measured first. Every process it started
     * is stopped.
     */
    public static List<Results> run(BenchConfig config) throws IOException {
        quietLogging();
        long started = System.nanoTime();
        Benchmark.Progress progress = message -> System.err.printf("[bench %6.1fs] %s%n", (System.nanoTime() - started) / 1e9, message);
        String loadBefore = loadAverage();
        List<Double> loads = new ArrayList<>();
        java.util.concurrent.ScheduledExecutorService loadSampler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "bench-load-sampler");
            t.setDaemon(true);
            return t;
        });
        java.util.concurrent.ScheduledFuture<?> load = loadSampler.scheduleAtFixedRate(() -> {
            try {
                double oneMinute = Double.parseDouble(loadAverage().split(" ")[0]);
                synchronized (loads) {
                    loads.add(oneMinute);
                }
            } catch (RuntimeException ignored) {
                // no sample this time
            }
        }, 0, 10, java.util.concurrent.TimeUnit.SECONDS);
        Path dir = config.workDir() != null ? Files.createDirectories(config.workDir()) : Files.createTempDirectory("ferry-bench");
        progress.say("work dir " + dir + ", load average " + loadBefore);
        RedisBinary binary = RedisBinary.system().orElseThrow(() -> new IllegalStateException(
                "redis-server is not installed (apt-get install -y redis-server redis-tools)"));
        Benchmark benchmark = new Benchmark(config, progress);
        SystemResult nativeResult;
        Map<String, SystemResult> ferryResults = new LinkedHashMap<>();
        List<Results.ClusterRun> clusterRuns = new ArrayList<>();
        Ceiling ceiling;
        String redisVersion;
        LocalKafka kafka = null;
        // interrupted (Ctrl-C, SIGTERM): stop every server and agent started so far, newest first
        List<AutoCloseable> running = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread cleanup = new Thread(() -> {
            List<AutoCloseable> toStop;
            synchronized (running) {
                toStop = new ArrayList<>(running);
            }
            java.util.Collections.reverse(toStop);
            for (AutoCloseable resource : toStop) {
                try {
                    resource.close();
                } catch (Exception e) {
                    System.err.println("stopping " + resource + ": " + e);
                }
            }
        }, "bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            try (NativeReplication nat = NativeReplication.start(binary, dir)) {
                running.add(nat);
                redisVersion = nat.source().version();
                ceiling = Ceilings.measure(nat, binary, config, progress);
                nat.attach();
                nativeResult = benchmark.measure(nat);
            }
            running.clear();
            for (String policy : config.conflictPolicies()) {
                // each policy on its own broker, servers and files: no run inherits another's topics or logs
                Path ferryDir = Files.createDirectories(dir.resolve("ferry-" + policy));
                progress.say("starting the Kafka broker (own JVM) for Ferry with conflict policy " + policy);
                kafka = LocalKafka.start(LocalKafka.Mode.FORKED, ferryDir.resolve("kafka"));
                running.add(kafka);
                if (config.profile()) {
                    jcmd(kafka.pid(), "JFR.start", "name=bench", "settings=profile", "filename=" + ferryDir.resolve("kafka.jfr"));
                }
                progress.say("starting Ferry (conflict policy " + policy + "): redis a, capture(a), apply(b), redis b"
                        + (config.targetCapture() ? ", capture(b)" : ""));
                try (FerryOneWay ferry = FerryOneWay.start(binary, kafka, kafka.pid(), ferryDir, config.meshSettings(),
                        config.kafkaProperties(), config.agentJvmOptions(), policy, config.targetCapture())) {
                    running.add(ferry);
                    ferry.startAgents(Duration.ofMinutes(2));
                    ferryResults.put(policy, benchmark.measure(ferry));
                } finally {
                    stopBroker(kafka, config, ferryDir);
                    kafka = null;
                    running.clear();
                }
            }
            String clusterPolicy = config.conflictPolicies().get(0);
            for (int shards : config.clusterShards()) {
                Path clusterDir = Files.createDirectories(dir.resolve("ferry-cluster-" + shards));
                progress.say("starting the Kafka broker (own JVM) for Ferry from a Redis Cluster source of " + shards + " master(s)");
                kafka = LocalKafka.start(LocalKafka.Mode.FORKED, clusterDir.resolve("kafka"));
                running.add(kafka);
                progress.say("starting Ferry: redis cluster a (" + shards + " master(s)), capture(a), apply(b), redis b"
                        + (config.targetCapture() ? ", capture(b)" : ""));
                try (FerryOneWay ferry = FerryOneWay.startCluster(binary, shards, kafka, kafka.pid(), clusterDir, config.meshSettings(),
                        config.kafkaProperties(), config.agentJvmOptions(), clusterPolicy, config.targetCapture())) {
                    running.add(ferry);
                    ferry.startAgents(Duration.ofMinutes(2));
                    clusterRuns.add(benchmark.measureCluster(ferry, shards));
                } finally {
                    stopBroker(kafka, config, clusterDir);
                    kafka = null;
                    running.clear();
                }
            }
        } finally {
            if (kafka != null) {
                stopBroker(kafka, config, dir);
            }
            running.clear();
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it finds nothing left to stop
            }
        }
        load.cancel(false);
        loadSampler.shutdownNow();
        double loadMean;
        double loadMax;
        synchronized (loads) {
            loadMean = loads.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
            loadMax = loads.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        }
        Machine machine = new Machine(Runtime.getRuntime().availableProcessors(), Instant.now().minusNanos(System.nanoTime() - started).toString(),
                loadBefore, loadAverage(), loadMean, loadMax, (System.nanoTime() - started) / 1e9, redisVersion,
                System.getProperty("java.version"));
        progress.say(String.format("machine load during the run (1-min average): mean %.1f, max %.1f on %d cores",
                loadMean, loadMax, machine.cores()));
        List<Results> runs = new ArrayList<>();
        ferryResults.forEach((policy, ferryResult) -> runs.add(new Results(machine, settings(config, policy), policy, ceiling,
                nativeResult, ferryResult, ResultsTable.ratios(nativeResult, ferryResult), targets(nativeResult, ferryResult),
                List.copyOf(clusterRuns))));
        if (runs.size() == 1) {
            Files.writeString(config.out(), Json.write(runs.get(0)));
        } else {
            Map<String, Object> file = new LinkedHashMap<>();
            file.put("policyComparison", PolicyComparison.of(runs));
            file.put("runs", runs);
            Files.writeString(config.out(), Json.write(file));
        }
        if (!config.keepWorkDir() && config.workDir() == null) {
            deleteTree(dir);
        } else {
            progress.say("kept " + dir + " (logs" + (config.profile() ? ", JFR recordings" : "") + ")");
        }
        return runs;
    }

    private static void stopBroker(LocalKafka kafka, BenchConfig config, Path dir) {
        if (config.profile()) {
            jcmd(kafka.pid(), "JFR.dump", "name=bench", "filename=" + dir.resolve("kafka.jfr"));
        }
        kafka.stop();
    }

    private static Map<String, Object> settings(BenchConfig c, String conflictPolicy) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("mode", c.quick() ? "quick" : "full");
        s.put("conflictPolicy", conflictPolicy);
        s.put("conflictPoliciesThisRun", c.conflictPolicies());
        s.put("targetCapture", c.targetCapture());
        s.put("windowSeconds", c.windowSeconds());
        s.put("mixedWindowSeconds", c.mixedWindowSeconds());
        s.put("latencySeconds", c.latencySeconds());
        s.put("lagBoundMillis", c.lagBoundMillis());
        s.put("valueBytes", c.valueBytes());
        s.put("catchUpOps", c.catchUpOps());
        s.put("agentJvmOptions", c.agentJvmOptions());
        s.put("capture", c.captureSettings());
        s.put("apply", c.applySettings());
        s.put("kafkaProperties", c.kafkaProperties());
        s.put("latencyProfile", c.latencyProfileDescription());
        s.put("clusterShards", c.clusterShards());
        return s;
    }

    private static List<TargetCheck> targets(SystemResult n, SystemResult f) {
        List<TargetCheck> checks = new ArrayList<>();
        Double sustained = f.set().opsPerSecond();
        checks.add(new TargetCheck("sustained one-way SET ops/s", ">= 50000", "100000", sustained, sustained != null && sustained >= 50_000));
        Double ratio = ResultsTable.ratio(sustained, n.set().opsPerSecond());
        checks.add(new TargetCheck("sustained ratio to native", ">= 0.3", "0.5", ratio, ratio != null && ratio >= 0.3));
        for (String profile : List.of("main", "latency")) {
            Results.Latency at10k = f.latencyAt(profile, 10_000);
            if (at10k != null) {
                checks.add(new TargetCheck("p99 e2e latency at 10k ops/s, ms (" + profile + " settings)", "<= 25", "10",
                        at10k.p99Ms(), at10k.p99Ms() <= 25 && at10k.missing() == 0));
            }
        }
        checks.add(new TargetCheck("catch-up ops/s", ">= 100000", "", f.catchUp().opsPerSecond(), f.catchUp().opsPerSecond() >= 100_000));
        for (String role : List.of("capture", "apply")) {
            Long rss = f.peakRssBytes().get(role);
            double mib = rss == null ? Double.NaN : rss / 1048576.0;
            checks.add(new TargetCheck("peak RSS " + role + ", MiB", "< 512", "", mib, rss != null && rss > 0 && mib < 512));
        }
        checks.add(new TargetCheck("every write delivered (1 = yes)", "1", "", f.delivered().allWritesDelivered() ? 1.0 : 0.0,
                f.delivered().allWritesDelivered()));
        return checks;
    }

    /** The benchmark's own Kafka and Lettuce clients log only problems; the agents keep their logs. */
    private static void quietLogging() {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka", "error");
    }

    /** Runs a jcmd diagnostic command against a JVM this benchmark started (profiling the broker). */
    private static void jcmd(long pid, String... command) {
        List<String> args = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), Long.toString(pid)));
        args.addAll(List.of(command));
        try {
            Process process = new ProcessBuilder(args).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (IOException e) {
            System.err.println("jcmd failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("could not delete " + dir + ": " + e.getMessage());
        }
    }
}
