package io.ferry.bench;

import io.ferry.bench.Results.Latency;
import io.ferry.bench.Results.SystemResult;
import io.ferry.bench.Results.TargetCheck;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Ferry under several conflict policies in one run, each against a baseline: {@code report} if it ran
 * (detection without repair), else the first policy. The release's criterion: with convergence on
 * (lww, priority) sustained throughput stays within 10% of {@code report}, and p99 at 10k ops/s within
 * +5 ms. Serialised to the JSON file as-is.
 */
record PolicyComparison(String baseline, List<Policy> policies) {

    static final double MIN_THROUGHPUT_RATIO = 0.90;
    static final double MAX_P99_INCREASE_MS = 5.0;
    static final int P99_RATE = 10_000;

    /**
     * One policy against the baseline: its figures divided by the baseline's ({@code toBaseline}), its
     * latency percentiles minus the baseline's in ms ({@code latencyDeltaMs}), and the criterion's checks.
     */
    record Policy(String conflictPolicy, Map<String, Double> toBaseline, Map<String, Double> latencyDeltaMs,
                  List<TargetCheck> checks) {
    }

    static PolicyComparison of(List<Results> runs) {
        Results baseline = runs.stream().filter(r -> r.conflictPolicy().equals("report")).findFirst().orElse(runs.get(0));
        List<Policy> policies = new ArrayList<>();
        for (Results run : runs) {
            if (run != baseline) {
                policies.add(compare(run, baseline));
            }
        }
        return new PolicyComparison(baseline.conflictPolicy(), policies);
    }

    private static Policy compare(Results run, Results baseline) {
        SystemResult f = run.ferry();
        SystemResult b = baseline.ferry();
        String name = run.conflictPolicy() + " / " + baseline.conflictPolicy();
        Map<String, Double> ratios = new LinkedHashMap<>();
        ratios.put("sustainedSetOpsPerSecond", ResultsTable.ratio(f.set().opsPerSecond(), b.set().opsPerSecond()));
        ratios.put("sustainedMixedOpsPerSecond", ResultsTable.ratio(f.mixed().opsPerSecond(), b.mixed().opsPerSecond()));
        ratios.put("catchUpOpsPerSecond", ResultsTable.ratio(f.catchUp().opsPerSecond(), b.catchUp().opsPerSecond()));
        ratios.put("cpuSecondsPer1kOps", ResultsTable.ratio(ResultsTable.replicationCpu(f), ResultsTable.replicationCpu(b)));
        ratios.put("applyCpuSecondsPer1kOps", ResultsTable.ratio(f.set().cpuSecondsPer1kOps().get("apply"),
                b.set().cpuSecondsPer1kOps().get("apply")));
        Map<String, Double> deltas = new LinkedHashMap<>();
        for (Latency l : f.latency()) {
            Latency other = b.latencyAt(l.profile(), l.offeredOpsPerSecond());
            if (other != null) {
                String suffix = l.offeredOpsPerSecond() + (l.profile().equals("main") ? "" : "LatencySettings");
                deltas.put("latencyP50At" + suffix, l.p50Ms() - other.p50Ms());
                deltas.put("latencyP99At" + suffix, l.p99Ms() - other.p99Ms());
                deltas.put("latencyP999At" + suffix, l.p999Ms() - other.p999Ms());
            }
        }
        List<TargetCheck> checks = new ArrayList<>();
        // a figure every window of which was bounded is only a lower bound: say so next to the ratio
        boolean setBounds = !f.set().limitFound() || !b.set().limitFound();
        boolean mixedBounds = !f.mixed().limitFound() || !b.mixed().limitFound();
        checks.add(throughput("sustained SET ops/s, " + name + (setBounds ? " (lower bounds)" : ""),
                ratios.get("sustainedSetOpsPerSecond")));
        checks.add(throughput("sustained mixed ops/s, " + name + (mixedBounds ? " (lower bounds)" : ""),
                ratios.get("sustainedMixedOpsPerSecond")));
        Double p99 = deltas.get("latencyP99At" + P99_RATE);
        if (p99 != null) {
            checks.add(new TargetCheck("p99 e2e latency at 10k ops/s, " + run.conflictPolicy() + " - " + baseline.conflictPolicy()
                    + ", ms", "<= +" + (int) MAX_P99_INCREASE_MS, "", p99, p99 <= MAX_P99_INCREASE_MS));
        }
        return new Policy(run.conflictPolicy(), ratios, deltas, checks);
    }

    private static TargetCheck throughput(String figure, Double ratio) {
        return new TargetCheck(figure, ">= " + MIN_THROUGHPUT_RATIO, "", ratio, ratio != null && ratio >= MIN_THROUGHPUT_RATIO);
    }
}
