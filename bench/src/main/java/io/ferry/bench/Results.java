package io.ferry.bench;

import java.util.List;
import java.util.Map;

/**
 * What a benchmark run measured for Ferry under one conflict policy ({@code conflictPolicy}, the mesh
 * file's policy for every key) and its anchors; serialised as-is to the JSON file (component names are
 * the JSON keys). {@code clusterRuns}: Ferry from a Redis Cluster source, one per shard count asked for
 * ({@code --cluster-shards}), measured under the run's first policy; empty if none was asked for.
 */
record Results(Machine machine, Map<String, Object> settings, String conflictPolicy, Ceiling ceiling,
               SystemResult nativeReplication, SystemResult ferry, Map<String, Double> ferryToAnchor,
               List<TargetCheck> targets, List<ClusterRun> clusterRuns) {

    /**
     * The machine the run shared: 1-minute load averages sampled every 10 s during the run (mean and
     * max), since every figure depends on what else ran on the same cores.
     */
    record Machine(int cores, String startedAt, String loadBefore, String loadAfter, double loadMeanDuringRun,
                   double loadMaxDuringRun, double wallSeconds, String redisVersion, String java) {
    }

    /** The source's own write rate: one pipelined connection (the benchmark's generator) and redis-benchmark. */
    record Ceiling(double setOpsPerSecond, Double redisBenchmarkSetOpsPerSecond, int valueBytes, int respBytesPerSet) {
    }

    /** One open-loop window at a fixed offered rate. */
    record Window(String workload, double offeredOpsPerSecond, double achievedOpsPerSecond,
                  double targetOpsPerSecond, double maxLagMsSecondHalf, double endLagMs, double drainSeconds,
                  boolean bounded, Map<String, Double> cpuSecondsPer1kOps) {
    }

    /**
     * The highest offered rate whose window kept the lag bounded (null if none did), the probe that
     * suggested where to start, and every window tried.
     */
    /** {@code limitFound}: some window was not bounded; if false, the figure is a lower bound (windows ran out). */
    record Sustained(String workload, Double opsPerSecond, boolean limitFound, double probeTargetOpsPerSecond,
                     List<Window> windows, Map<String, Double> cpuSecondsPer1kOps) {
    }

    /**
     * {@code profile}: "main" (the run's settings) or "latency" (capture restarted with the latency settings).
     * {@code machineBusyPercent} and {@code machineStealPercent}: the whole machine's CPU during the
     * measurement; steal is time the hypervisor took away, which no process here can make up for.
     */
    record Latency(String profile, int offeredOpsPerSecond, double p50Ms, double p99Ms, double p999Ms, double maxMs,
                   long measured, long missing, ApplyStage applyStage, double machineBusyPercent, double machineStealPercent) {
    }

    /**
     * Ferry only: the apply agent's own histogram (ferry_apply_latency_seconds, capture read → applied on
     * the target) over the same run, upper bucket bounds; the rest of the end-to-end time is Redis A →
     * capture read. Null for native replication.
     */
    record ApplyStage(long events, double meanMs, double p50UpToMs, double p99UpToMs) {
    }

    record CatchUp(long ops, double opsPerSecond, double secondsToFirstProgress, double secondsUntilCaughtUp,
                   double storedOpsPerSecond, double streamBytesPerOp, double respBytesPerOp, String mode) {
    }

    record Delivered(long sourceKeys, long targetKeys, long reservedTargetKeys, int mixedKeysCompared,
                     int mixedMismatches, long writeErrors, boolean allWritesDelivered) {
    }

    record SystemResult(String name, Sustained set, Sustained mixed, List<Latency> latency, CatchUp catchUp,
                        Map<String, Long> peakRssBytes, Map<String, Double> agentMetrics, Delivered delivered) {

        Latency latencyAt(int rate) {
            return latencyAt("main", rate);
        }

        Latency latencyAt(String profile, int rate) {
            return latency.stream().filter(l -> l.profile().equals(profile) && l.offeredOpsPerSecond() == rate)
                    .findFirst().orElse(null);
        }
    }

    /**
     * Ferry one way from a Redis Cluster source of {@code shards} masters to a standalone target: the SET
     * load spread over the shards by slot. Mixed workload and catch-up are not measured (the mixed
     * workload's MULTI blocks span slots).
     */
    record ClusterRun(int shards, Sustained set, List<Latency> latency, Map<String, Long> peakRssBytes, Delivered delivered) {
    }

    record TargetCheck(String figure, String target, String aim, Double value, boolean met) {
    }
}
