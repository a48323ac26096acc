package io.ferry.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a benchmark run is told, parsed once from the command line. {@code --quick} shrinks every
 * duration and count so the whole run takes about a minute (the test suite uses it); the defaults are
 * the full run the README's figures come from.
 */
record BenchConfig(
        boolean quick,
        Path out,
        Path workDir,
        boolean keepWorkDir,
        double ceilingSeconds,
        double probeSeconds,
        long probeMaxItems,
        double windowSeconds,
        int maxWindows,
        double mixedWindowSeconds,
        int mixedMaxWindows,
        double latencySeconds,
        double latencyWarmupSeconds,
        List<Integer> latencyRates,
        long catchUpOps,
        double warmupSeconds,
        long warmupMaxItems,
        int valueBytes,
        int mixedKeysPerType,
        long lagBoundMillis,
        long markerIntervalMillis,
        List<String> agentJvmArgs,
        boolean profile,
        List<String> conflictPolicies,
        boolean targetCapture,
        Map<String, String> captureSettings,
        Map<String, String> applySettings,
        Map<String, String> kafkaProperties,
        Map<String, String> latencyCaptureSettings,
        Map<String, String> latencyKafkaProperties,
        List<Integer> clusterShards) {

    static final String USAGE = """
            usage: ferry-bench [--quick] [--out results.json] [options]
              --quick                   tiny run (about a minute): proves the pipeline, not the speed
              --out FILE                JSON results (default results.json)
              --work-dir DIR            where servers and agents keep data and logs (default: a temp dir)
              --keep-work-dir           keep it afterwards (logs, JFR recordings)
              --window-seconds N        sustained-throughput window (full: 60)
              --max-windows N           windows tried per system to find the sustained rate (full: 3, and
                                        up to 2 more while none has been bounded)
              --mixed-window-seconds N  mixed-workload window (full: 30)
              --latency-seconds N       measured seconds per latency rate (full: 20)
              --latency-rates A,B       open-loop rates for latency, ops/s (default 1000,10000)
              --catch-up-ops N          writes accumulated while apply is stopped (full: 1000000)
              --value-bytes N           SET value size (default 32)
              --lag-bound-ms N          lag allowed in the second half of a window (default 2000)
              --agent-jvm-opts "..."    JVM options of capture and apply (default "-Xmx256m -XX:+UseParallelGC")
              --profile                 JFR recording of each agent into the work dir
              --conflict-policy P[,P]   the mesh file's conflict policy for every key: lww (default, the
                                        product default), report, or priority (source first); several
                                        measure Ferry once per policy, against the same native anchor
              --compare-policies        short for --conflict-policy lww,report: both tables, and the
                                        convergence criterion (within 10% of report, p99 @10k +5 ms)
              --no-target-capture       no capture on the target (the one-way topology before convergence:
                                        apply's write history is then never pruned by its own stream)
              --capture.KEY=V           mesh 'capture:' setting, e.g. --capture.transactionMaxMillis=5
              --apply.KEY=V             mesh 'apply:' setting, e.g. --apply.maxBatchEvents=2000
              --kafka.PROP=V            Kafka client property for the agents, e.g. --kafka.linger.ms=1
              --latency.capture.KEY=V   also measure Ferry's latency with capture restarted with these
              --latency.kafka.PROP=V    settings (e.g. a transaction length that trades throughput for latency)
              --cluster-shards N[,N]    also measure Ferry from a Redis Cluster source of N masters (e.g. 1,3)
                                        to a standalone target, the SET load spread over the shards by slot:
                                        sustained SET throughput and latency, in a table beside the
                                        standalone source's figures (first conflict policy)
            """;

    /** The policies a mesh file's {@code conflicts:} entry can name. */
    static final List<String> CONFLICT_POLICIES = List.of("lww", "report", "priority");

    /** The product's default policy: what a mesh file without {@code conflicts:} gets. */
    static final String DEFAULT_CONFLICT_POLICY = "lww";

    /** Agents as an operator would run them: a bounded heap and the throughput collector. */
    static final String DEFAULT_AGENT_JVM = "-Xmx256m -XX:+UseParallelGC";

    static BenchConfig parse(String... args) {
        boolean quick = Arrays.asList(args).contains("--quick");
        Map<String, String> options = new LinkedHashMap<>();
        Map<String, String> capture = new LinkedHashMap<>();
        Map<String, String> apply = new LinkedHashMap<>();
        Map<String, String> kafka = new LinkedHashMap<>();
        Map<String, String> latencyCapture = new LinkedHashMap<>();
        Map<String, String> latencyKafka = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--quick") || arg.equals("--keep-work-dir") || arg.equals("--profile")
                    || arg.equals("--compare-policies") || arg.equals("--no-target-capture")) {
                options.put(arg, "true");
            } else if (arg.startsWith("--capture.") || arg.startsWith("--apply.") || arg.startsWith("--kafka.")
                    || arg.startsWith("--latency.capture.") || arg.startsWith("--latency.kafka.")) {
                int eq = arg.indexOf('=');
                if (eq < 0) {
                    problems.add(arg + ": write " + arg + "=VALUE");
                    continue;
                }
                boolean latency = arg.startsWith("--latency.");
                String path = arg.substring(latency ? "--latency.".length() : 2, eq);
                String key = path.substring(path.indexOf('.') + 1);
                String value = arg.substring(eq + 1);
                Map<String, String> target = path.startsWith("capture.") ? (latency ? latencyCapture : capture)
                        : path.startsWith("apply.") ? apply : (latency ? latencyKafka : kafka);
                target.put(key, value);
            } else if (arg.startsWith("--") && i + 1 < args.length) {
                options.put(arg, args[++i]);
            } else {
                problems.add("unknown argument '" + arg + "'");
            }
        }
        BenchConfig config;
        try {
            config = new BenchConfig(
                    quick,
                    Path.of(options.getOrDefault("--out", "results.json")),
                    options.containsKey("--work-dir") ? Path.of(options.get("--work-dir")) : null,
                    options.containsKey("--keep-work-dir"),
                    quick ? 1 : 10,
                    quick ? 1 : 10,
                    quick ? 20_000 : 300_000,
                    number(options, "--window-seconds", quick ? 2 : 60),
                    (int) number(options, "--max-windows", quick ? 1 : 3),
                    number(options, "--mixed-window-seconds", quick ? 2 : 30),
                    quick ? 1 : 2,
                    number(options, "--latency-seconds", quick ? 1 : 20),
                    quick ? 0.5 : 2,
                    rates(options.getOrDefault("--latency-rates", "1000,10000")),
                    (long) number(options, "--catch-up-ops", quick ? 10_000 : 1_000_000),
                    quick ? 1 : 10,
                    quick ? 5_000 : 300_000,
                    (int) number(options, "--value-bytes", 32),
                    quick ? 200 : 2000,
                    (long) number(options, "--lag-bound-ms", 2000),
                    10,
                    List.of(options.getOrDefault("--agent-jvm-opts", DEFAULT_AGENT_JVM).trim().split("\\s+")),
                    options.containsKey("--profile"),
                    policies(options),
                    !options.containsKey("--no-target-capture"),
                    capture, apply, kafka, latencyCapture, latencyKafka,
                    options.containsKey("--cluster-shards") ? shardCounts(options.get("--cluster-shards")) : List.of());
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
            config = null;
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", problems) + "\n" + USAGE);
        }
        return config;
    }

    /** The mesh file's capture: and apply: sections for the configured settings. */
    String meshSettings() {
        return meshSettings(captureSettings);
    }

    boolean hasLatencyProfile() {
        return !latencyCaptureSettings.isEmpty() || !latencyKafkaProperties.isEmpty();
    }

    /** The mesh sections for the latency measurement: the main ones with the latency capture settings on top. */
    String latencyMeshSettings() {
        Map<String, String> merged = new LinkedHashMap<>(captureSettings);
        merged.putAll(latencyCaptureSettings);
        return meshSettings(merged);
    }

    /** Kafka client properties for the latency measurement: the main ones with the latency ones on top. */
    Map<String, String> latencyClientProperties() {
        Map<String, String> merged = new LinkedHashMap<>(kafkaProperties);
        merged.putAll(latencyKafkaProperties);
        return merged;
    }

    String latencyProfileDescription() {
        List<String> parts = new ArrayList<>();
        latencyCaptureSettings.forEach((k, v) -> parts.add("capture." + k + "=" + v));
        latencyKafkaProperties.forEach((k, v) -> parts.add(k + "=" + v));
        return String.join(", ", parts);
    }

    private String meshSettings(Map<String, String> capture) {
        StringBuilder yaml = new StringBuilder();
        if (!capture.isEmpty()) {
            yaml.append("capture:\n");
            capture.forEach((k, v) -> yaml.append("  ").append(k).append(": ").append(v).append('\n'));
        }
        if (!applySettings.isEmpty()) {
            yaml.append("apply:\n");
            applySettings.forEach((k, v) -> yaml.append("  ").append(k).append(": ").append(v).append('\n'));
        }
        return yaml.toString();
    }

    /** JVM options of each agent, with a JFR recording when profiling. */
    List<String> agentJvmOptions() {
        List<String> jvm = new ArrayList<>(agentJvmArgs);
        jvm.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=info");
        if (profile) {
            jvm.add("-XX:StartFlightRecording=filename={dir}/{name}.jfr,settings=profile,dumponexit=true");
        }
        return jvm;
    }

    private static double number(Map<String, String> options, String key, double fallback) {
        String text = options.get(key);
        if (text == null) {
            return fallback;
        }
        try {
            double value = Double.parseDouble(text);
            if (value <= 0) {
                throw new IllegalArgumentException(key + ": must be positive, got " + text);
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": '" + text + "' is not a number");
        }
    }

    /** {@code --conflict-policy} (a list, in the order to run) or {@code --compare-policies}; lww if neither. */
    private static List<String> policies(Map<String, String> options) {
        String text = options.get("--conflict-policy");
        if (options.containsKey("--compare-policies")) {
            if (text != null) {
                throw new IllegalArgumentException("--compare-policies is --conflict-policy lww,report: give one of them");
            }
            text = "lww,report";
        }
        if (text == null) {
            return List.of(DEFAULT_CONFLICT_POLICY);
        }
        List<String> policies = Arrays.stream(text.split(",")).map(String::trim).map(p -> p.toLowerCase(java.util.Locale.ROOT)).toList();
        for (String policy : policies) {
            if (!CONFLICT_POLICIES.contains(policy)) {
                throw new IllegalArgumentException("--conflict-policy: '" + policy + "' is not one of " + String.join(", ", CONFLICT_POLICIES));
            }
        }
        if (policies.stream().distinct().count() != policies.size()) {
            throw new IllegalArgumentException("--conflict-policy: '" + text + "' names a policy twice");
        }
        return policies;
    }

    private static List<Integer> shardCounts(String text) {
        List<Integer> counts;
        try {
            counts = Arrays.stream(text.split(",")).map(String::trim).map(Integer::parseInt).toList();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--cluster-shards: '" + text + "' is not a list like 1,3");
        }
        if (counts.stream().anyMatch(n -> n < 1 || n > 16)) {
            throw new IllegalArgumentException("--cluster-shards: each count must be 1..16, got " + text);
        }
        return counts;
    }

    private static List<Integer> rates(String text) {
        try {
            return Arrays.stream(text.split(",")).map(String::trim).map(Integer::parseInt).toList();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--latency-rates: '" + text + "' is not a list like 1000,10000");
        }
    }
}
