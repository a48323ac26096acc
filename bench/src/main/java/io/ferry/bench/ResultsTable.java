package io.ferry.bench;

import io.ferry.bench.Results.Latency;
import io.ferry.bench.Results.SystemResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The printed tables: each Ferry figure next to its anchor from the same run, their ratio, and the target;
 * and, when Ferry ran under several conflict policies, their figures side by side.
 */
final class ResultsTable {

    private ResultsTable() {
    }

    /** Ratios of Ferry to its anchor, by figure, for the JSON file and the table. */
    static Map<String, Double> ratios(SystemResult nat, SystemResult ferry) {
        Map<String, Double> ratios = new LinkedHashMap<>();
        ratios.put("sustainedSetOpsPerSecond", ratio(ferry.set().opsPerSecond(), nat.set().opsPerSecond()));
        ratios.put("sustainedMixedOpsPerSecond", ratio(ferry.mixed().opsPerSecond(), nat.mixed().opsPerSecond()));
        for (Latency f : ferry.latency()) {
            Latency n = nat.latencyAt(f.offeredOpsPerSecond());
            String suffix = f.profile().equals("main") ? "" : "LatencySettings";
            if (n != null) {
                ratios.put("latencyP50At" + f.offeredOpsPerSecond() + suffix, ratio(f.p50Ms(), n.p50Ms()));
                ratios.put("latencyP99At" + f.offeredOpsPerSecond() + suffix, ratio(f.p99Ms(), n.p99Ms()));
                ratios.put("latencyP999At" + f.offeredOpsPerSecond() + suffix, ratio(f.p999Ms(), n.p999Ms()));
            }
        }
        ratios.put("catchUpOpsPerSecond", ratio(ferry.catchUp().opsPerSecond(), nat.catchUp().opsPerSecond()));
        ratios.put("cpuSecondsPer1kOps", ratio(replicationCpu(ferry), replicationCpu(nat)));
        ratios.put("streamBytesPerOp", ratio(ferry.catchUp().streamBytesPerOp(), nat.catchUp().streamBytesPerOp()));
        return ratios;
    }

    /**
     * CPU per 1k ops spent on replicating, beyond the source's own: replica, or capture + Kafka + apply +
     * target (its capture included when it runs).
     */
    static Double replicationCpu(SystemResult result) {
        Map<String, Double> cpu = result.set().cpuSecondsPer1kOps();
        double sum = 0;
        boolean any = false;
        for (String role : List.of("replica-redis", "capture", "kafka", "apply", "target-capture", "target-redis")) {
            Double v = cpu.get(role);
            if (v != null && !v.isNaN()) {
                sum += v;
                any = true;
            }
        }
        return any ? sum : null;
    }

    static String render(Results r) {
        SystemResult n = r.nativeReplication();
        SystemResult f = r.ferry();
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"figure", "anchor (native)", "ferry (" + r.conflictPolicy() + ")", "ferry/anchor", "target"});
        rows.add(new String[] {"source SET ceiling, 1 pipelined conn", rate(r.ceiling().setOpsPerSecond()), "", "", ""});
        if (r.ceiling().redisBenchmarkSetOpsPerSecond() != null) {
            rows.add(new String[] {"redis-benchmark SET -P 16 -c 50", rate(r.ceiling().redisBenchmarkSetOpsPerSecond()), "", "", ""});
        }
        rows.add(new String[] {"sustained SET throughput (lag bounded " + ((Number) r.settings().get("windowSeconds")).intValue() + " s)",
                sustained(n.set()), sustained(f.set()),
                x(r.ferryToAnchor().get("sustainedSetOpsPerSecond")), ">=50k, >=0.3x (aim 100k, 0.5x)"});
        rows.add(new String[] {"sustained mixed throughput", sustained(n.mixed()), sustained(f.mixed()),
                x(r.ferryToAnchor().get("sustainedMixedOpsPerSecond")), ""});
        for (Latency fl : f.latency()) {
            Latency nl = n.latencyAt(fl.offeredOpsPerSecond());
            int at = fl.offeredOpsPerSecond();
            boolean main = fl.profile().equals("main");
            String suffix = main ? "" : "LatencySettings";
            String label = "e2e latency %s @" + k(at) + (main ? "" : " (latency settings)");
            addLatency(rows, String.format(label, "p50"), nl, fl, Latency::p50Ms, r.ferryToAnchor().get("latencyP50At" + at + suffix), "");
            addLatency(rows, String.format(label, "p99"), nl, fl, Latency::p99Ms, r.ferryToAnchor().get("latencyP99At" + at + suffix),
                    at == 10_000 ? "<=25 ms (aim 10)" : "");
            addLatency(rows, String.format(label, "p99.9"), nl, fl, Latency::p999Ms, r.ferryToAnchor().get("latencyP999At" + at + suffix), "");
            if (fl.applyStage() != null) {
                rows.add(new String[] {"  of which capture read -> applied", "",
                        String.format(Locale.ROOT, "mean %.1f, p99 <=%.0f ms", fl.applyStage().meanMs(), fl.applyStage().p99UpToMs()), "", ""});
            }
            rows.add(new String[] {"  machine CPU busy / stolen meanwhile", cpu(nl), cpu(fl), "", ""});
        }
        rows.add(new String[] {"catch-up after " + f.catchUp().ops() + " writes", rate(n.catchUp().opsPerSecond()),
                rate(f.catchUp().opsPerSecond()), x(r.ferryToAnchor().get("catchUpOpsPerSecond")), ">=100k ops/s"});
        rows.add(new String[] {"  into the log (backlog / Kafka)", rate(n.catchUp().storedOpsPerSecond()),
                rate(f.catchUp().storedOpsPerSecond()), "", ""});
        rows.add(new String[] {"CPU s per 1k ops, replication side", num(replicationCpu(n), 4), num(replicationCpu(f), 4),
                x(r.ferryToAnchor().get("cpuSecondsPer1kOps")), ""});
        for (String role : List.of("capture", "kafka", "apply", "target-capture", "target-redis", "source-redis", "load-generator")) {
            Double v = f.set().cpuSecondsPer1kOps().get(role);
            if (v != null) {
                Double anchor = role.equals("target-redis") ? n.set().cpuSecondsPer1kOps().get("replica-redis")
                        : n.set().cpuSecondsPer1kOps().get(role);
                rows.add(new String[] {"  " + role, num(anchor, 4), num(v, 4), "", ""});
            }
        }
        for (String role : List.of("capture", "apply", "target-capture", "kafka")) {
            Long rss = f.peakRssBytes().get(role);
            if (rss == null && role.equals("target-capture")) {
                continue;
            }
            rows.add(new String[] {"peak RSS " + role, "", mib(rss), "",
                    role.equals("kafka") ? "" : "<512 MiB"});
        }
        rows.add(new String[] {"peak RSS replica / target redis", mib(n.peakRssBytes().get("replica-redis")),
                mib(f.peakRssBytes().get("target-redis")), "", ""});
        rows.add(new String[] {"conflict detection: keys held / forgotten", "", detection(f), "", ""});
        rows.add(new String[] {"bytes per SET: stream vs RESP " + String.format(Locale.ROOT, "%.0f", f.catchUp().respBytesPerOp()),
                num(n.catchUp().streamBytesPerOp(), 1), num(f.catchUp().streamBytesPerOp(), 1),
                x(r.ferryToAnchor().get("streamBytesPerOp")), ""});
        rows.add(new String[] {"every write delivered", yes(n.delivered().allWritesDelivered()), yes(f.delivered().allWritesDelivered()), "", "yes"});
        Results.Machine m = r.machine();
        return String.format(Locale.ROOT, "Ferry with conflict policy %s for every key%s%n", r.conflictPolicy(),
                Boolean.FALSE.equals(r.settings().get("targetCapture")) ? ", no capture on the target" : "")
                + machine(m) + format(rows);
    }

    private static String machine(Results.Machine m) {
        return String.format(Locale.ROOT, "%d cores, 1-min load average during the run: mean %.1f, max %.1f (before: %s)%n",
                m.cores(), m.loadMeanDuringRun(), m.loadMaxDuringRun(), m.loadBefore());
    }

    /**
     * Ferry's figures under each conflict policy side by side, then each policy against the baseline
     * (ratios; latency as a difference in ms, as the criterion is stated) and the criterion.
     */
    static String renderComparison(List<Results> runs, PolicyComparison comparison) {
        String base = comparison.baseline();
        List<String> header = new ArrayList<>(List.of("figure", "native"));
        runs.forEach(r -> header.add("ferry (" + r.conflictPolicy() + ")"));
        comparison.policies().forEach(p -> header.add(p.conflictPolicy() + " vs " + base));
        header.add("criterion");
        List<String[]> rows = new ArrayList<>();
        rows.add(header.toArray(String[]::new));
        SystemResult n = runs.get(0).nativeReplication();
        rows.add(row(runs, comparison, "sustained SET throughput", sustained(n.set()), f -> sustained(f.set()),
                p -> x(p.toBaseline().get("sustainedSetOpsPerSecond")), ">=" + MIN_RATIO + "x " + base));
        rows.add(row(runs, comparison, "sustained mixed throughput", sustained(n.mixed()), f -> sustained(f.mixed()),
                p -> x(p.toBaseline().get("sustainedMixedOpsPerSecond")), ">=" + MIN_RATIO + "x " + base));
        for (Latency nl : n.latency()) {
            int at = nl.offeredOpsPerSecond();
            addComparedLatency(rows, runs, comparison, "p50", at, nl, Latency::p50Ms, "latencyP50At", "");
            addComparedLatency(rows, runs, comparison, "p99", at, nl, Latency::p99Ms, "latencyP99At",
                    at == PolicyComparison.P99_RATE ? "<=" + base + " +" + (int) PolicyComparison.MAX_P99_INCREASE_MS + " ms" : "");
            addComparedLatency(rows, runs, comparison, "p99.9", at, nl, Latency::p999Ms, "latencyP999At", "");
            rows.add(row(runs, comparison, "  of which capture read -> applied", "", f -> {
                Latency l = f.latencyAt(at);
                return l == null || l.applyStage() == null ? "-"
                        : String.format(Locale.ROOT, "mean %.1f, p99 <=%.0f ms", l.applyStage().meanMs(), l.applyStage().p99UpToMs());
            }, p -> "", ""));
            rows.add(row(runs, comparison, "  machine CPU busy / stolen meanwhile", cpu(nl), f -> cpu(f.latencyAt(at)), p -> "", ""));
        }
        rows.add(row(runs, comparison, "catch-up after " + runs.get(0).ferry().catchUp().ops() + " writes", rate(n.catchUp().opsPerSecond()),
                f -> rate(f.catchUp().opsPerSecond()), p -> x(p.toBaseline().get("catchUpOpsPerSecond")), ""));
        rows.add(row(runs, comparison, "CPU s per 1k ops, replication side", num(replicationCpu(n), 4), f -> num(replicationCpu(f), 4),
                p -> x(p.toBaseline().get("cpuSecondsPer1kOps")), ""));
        rows.add(row(runs, comparison, "  apply", "", f -> num(f.set().cpuSecondsPer1kOps().get("apply"), 4),
                p -> x(p.toBaseline().get("applyCpuSecondsPer1kOps")), ""));
        rows.add(row(runs, comparison, "peak RSS apply", "", f -> mib(f.peakRssBytes().get("apply")), p -> "", ""));
        rows.add(row(runs, comparison, "conflict detection: keys held / forgotten", "", ResultsTable::detection, p -> "", ""));
        rows.add(row(runs, comparison, "every write delivered", yes(n.delivered().allWritesDelivered()),
                f -> yes(f.delivered().allWritesDelivered()), p -> "", "yes"));
        return "Ferry by conflict policy, against " + base + (comparison.baseline().equals("report") ? " (conflicts detected, never repaired)" : "")
                + "; policies ran one after the other in this order: "
                + String.join(", ", runs.stream().map(Results::conflictPolicy).toList()) + "\n" + machine(runs.get(0).machine()) + format(rows);
    }

    private static final String MIN_RATIO = String.format(Locale.ROOT, "%.1f", PolicyComparison.MIN_THROUGHPUT_RATIO);

    private static void addComparedLatency(List<String[]> rows, List<Results> runs, PolicyComparison comparison, String percentile,
                                           int at, Latency nl, Function<Latency, Double> pick, String key, String criterion) {
        rows.add(row(runs, comparison, "e2e latency " + percentile + " @" + k(at), ms(pick.apply(nl)),
                f -> f.latencyAt(at) == null ? "-" : ms(pick.apply(f.latencyAt(at))),
                p -> delta(p.latencyDeltaMs().get(key + at)), criterion));
    }

    private static String[] row(List<Results> runs, PolicyComparison comparison, String label, String nativeCell,
                                Function<SystemResult, String> ferryCell, Function<PolicyComparison.Policy, String> versus,
                                String criterion) {
        List<String> cells = new ArrayList<>(List.of(label, nativeCell));
        runs.forEach(r -> cells.add(ferryCell.apply(r.ferry())));
        comparison.policies().forEach(p -> cells.add(versus.apply(p)));
        cells.add(criterion);
        return cells.toArray(String[]::new);
    }

    /**
     * Conflict detection's write history at the end of the run (keys held) and the writes it had to forget
     * because it was full; from the apply agent's own meters.
     */
    private static String detection(SystemResult f) {
        Double held = metric(f, "ferry_apply_conflict_window_keys");
        Double forgotten = metric(f, "ferry_apply_conflict_window_evictions_total");
        return held == null ? "-" : String.format(Locale.ROOT, "%,.0f / %,.0f", held, forgotten == null ? 0 : forgotten);
    }

    private static Double metric(SystemResult f, String name) {
        Double sum = null;
        for (Map.Entry<String, Double> e : f.agentMetrics().entrySet()) {
            if (e.getKey().equals(name) || e.getKey().startsWith(name + "{")) {
                sum = (sum == null ? 0 : sum) + e.getValue();
            }
        }
        return sum;
    }

    private static String delta(Double ms) {
        return ms == null ? "-" : String.format(Locale.ROOT, "%+.2f ms", ms);
    }

    /** The machine's CPU during a latency measurement: busy and stolen by the hypervisor, in percent. */
    private static String cpu(Latency l) {
        return l == null || Double.isNaN(l.machineBusyPercent()) ? "-"
                : String.format(Locale.ROOT, "%.0f%% / %.0f%%", l.machineBusyPercent(), l.machineStealPercent());
    }

    private static void addLatency(List<String[]> rows, String label, Latency n, Latency f, Function<Latency, Double> pick,
                                   Double ratio, String target) {
        rows.add(new String[] {label, n == null ? "-" : ms(pick.apply(n)), ms(pick.apply(f)), x(ratio), target});
    }

    /**
     * Ferry with a cluster source beside Ferry with a standalone source (same policy, same run): one
     * column per shard count.
     */
    static String renderCluster(SystemResult standalone, String conflictPolicy, List<Results.ClusterRun> runs) {
        List<String[]> rows = new ArrayList<>();
        List<String> header = new ArrayList<>(List.of("figure (ferry, " + conflictPolicy + ")", "standalone source"));
        runs.forEach(run -> header.add("cluster, " + run.shards() + (run.shards() == 1 ? " shard" : " shards")));
        rows.add(header.toArray(String[]::new));
        rows.add(clusterRow("sustained SET throughput", sustained(standalone.set()), runs, run -> sustained(run.set())));
        rows.add(clusterRow("  max lag in that window", lag(standalone.set()), runs, run -> lag(run.set())));
        for (Latency sl : standalone.latency()) {
            if (!sl.profile().equals("main")) {
                continue;
            }
            int at = sl.offeredOpsPerSecond();
            for (String p : List.of("p50", "p99", "p99.9")) {
                java.util.function.Function<Latency, Double> pick = p.equals("p50") ? Latency::p50Ms : p.equals("p99") ? Latency::p99Ms : Latency::p999Ms;
                rows.add(clusterRow("e2e latency " + p + " @" + k(at), ms(pick.apply(sl)), runs, run -> run.latency().stream()
                        .filter(l -> l.offeredOpsPerSecond() == at).findFirst().map(l -> ms(pick.apply(l))).orElse("-")));
            }
        }
        rows.add(clusterRow("peak RSS capture", mib(standalone.peakRssBytes().get("capture")), runs, run -> mib(run.peakRssBytes().get("capture"))));
        rows.add(clusterRow("every write delivered", yes(standalone.delivered().allWritesDelivered()), runs,
                run -> yes(run.delivered().allWritesDelivered())));
        return "Ferry one way from a Redis Cluster source (load spread over the shards by slot) to a standalone target\n"
                + format(rows);
    }

    private static String[] clusterRow(String label, String standalone, List<Results.ClusterRun> runs,
            java.util.function.Function<Results.ClusterRun, String> cell) {
        List<String> row = new ArrayList<>(List.of(label, standalone));
        runs.forEach(run -> row.add(cell.apply(run)));
        return row.toArray(String[]::new);
    }

    /** The highest lag in the second half of the window the sustained figure comes from. */
    private static String lag(Results.Sustained s) {
        return s.windows().stream().filter(Results.Window::bounded)
                .max(java.util.Comparator.comparingDouble(Results.Window::offeredOpsPerSecond))
                .map(w -> String.format(Locale.ROOT, "%.0f ms", w.maxLagMsSecondHalf())).orElse("-");
    }

    private static String format(List<String[]> rows) {
        int[] widths = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (int r = 0; r < rows.size(); r++) {
            String[] row = rows.get(r);
            StringBuilder line = new StringBuilder("| ");
            for (int i = 0; i < row.length; i++) {
                String cell = row[i];
                boolean right = i > 0 && i < row.length - 1 && r > 0;
                line.append(right ? " ".repeat(widths[i] - cell.length()) + cell : cell + " ".repeat(widths[i] - cell.length()));
                line.append(" | ");
            }
            out.append(line.toString().stripTrailing()).append('\n');
            if (r == 0) {
                StringBuilder rule = new StringBuilder("|");
                for (int w : widths) {
                    rule.append("-".repeat(w + 2)).append('|');
                }
                out.append(rule).append('\n');
            }
        }
        return out.toString();
    }

    static Double ratio(Double value, Double anchor) {
        return value == null || anchor == null || anchor == 0 || value.isNaN() || anchor.isNaN() ? null : value / anchor;
    }

    private static String rate(Double opsPerSecond) {
        return opsPerSecond == null ? "not found" : String.format(Locale.ROOT, "%,.0f ops/s", opsPerSecond);
    }

    /** A sustained rate; ">=" when every window tried was bounded (the limit lies higher). */
    private static String sustained(Results.Sustained s) {
        return (s.opsPerSecond() != null && !s.limitFound() ? ">=" : "") + rate(s.opsPerSecond());
    }

    private static String ms(Double millis) {
        return millis == null ? "-" : String.format(Locale.ROOT, "%.2f ms", millis);
    }

    private static String x(Double ratio) {
        return ratio == null ? "-" : String.format(Locale.ROOT, "%.2fx", ratio);
    }

    private static String num(Double value, int decimals) {
        return value == null || value.isNaN() ? "-" : String.format(Locale.ROOT, "%." + decimals + "f", value);
    }

    private static String mib(Long bytes) {
        return bytes == null || bytes < 0 ? "-" : String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
    }

    private static String k(int rate) {
        return rate % 1000 == 0 ? rate / 1000 + "k/s" : rate + "/s";
    }

    private static String yes(boolean value) {
        return value ? "yes" : "NO";
    }
}
