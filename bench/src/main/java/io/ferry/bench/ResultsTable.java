package io.ferry.bench;

import io.ferry.bench.Results.Latency;
import io.ferry.bench.Results.SystemResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/** The printed table: each Ferry figure next to its anchor from the same run, their ratio, and the target. */
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

    /** CPU per 1k ops spent on replicating, beyond the source's own: replica, or capture + Kafka + apply + target. */
    static Double replicationCpu(SystemResult result) {
        Map<String, Double> cpu = result.set().cpuSecondsPer1kOps();
        double sum = 0;
        boolean any = false;
        for (String role : List.of("replica-redis", "capture", "kafka", "apply", "target-redis")) {
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
        rows.add(new String[] {"figure", "anchor (native)", "ferry", "ferry/anchor", "target"});
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
        for (String role : List.of("capture", "kafka", "apply", "target-redis", "source-redis", "load-generator")) {
            Double v = f.set().cpuSecondsPer1kOps().get(role);
            if (v != null) {
                Double anchor = role.equals("target-redis") ? n.set().cpuSecondsPer1kOps().get("replica-redis")
                        : n.set().cpuSecondsPer1kOps().get(role);
                rows.add(new String[] {"  " + role, num(anchor, 4), num(v, 4), "", ""});
            }
        }
        for (String role : List.of("capture", "apply", "kafka")) {
            Long rss = f.peakRssBytes().get(role);
            rows.add(new String[] {"peak RSS " + role, "", mib(rss), "",
                    role.equals("kafka") ? "" : "<512 MiB"});
        }
        rows.add(new String[] {"peak RSS replica / target redis", mib(n.peakRssBytes().get("replica-redis")),
                mib(f.peakRssBytes().get("target-redis")), "", ""});
        rows.add(new String[] {"bytes per SET: stream vs RESP " + String.format(Locale.ROOT, "%.0f", f.catchUp().respBytesPerOp()),
                num(n.catchUp().streamBytesPerOp(), 1), num(f.catchUp().streamBytesPerOp(), 1),
                x(r.ferryToAnchor().get("streamBytesPerOp")), ""});
        rows.add(new String[] {"every write delivered", yes(n.delivered().allWritesDelivered()), yes(f.delivered().allWritesDelivered()), "", "yes"});
        Results.Machine m = r.machine();
        return String.format(Locale.ROOT, "%d cores, 1-min load average during the run: mean %.1f, max %.1f (before: %s)%n",
                m.cores(), m.loadMeanDuringRun(), m.loadMaxDuringRun(), m.loadBefore()) + format(rows);
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
                boolean right = i > 0 && i < 4 && r > 0;
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
