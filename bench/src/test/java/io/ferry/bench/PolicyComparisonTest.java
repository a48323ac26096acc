package io.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.bench.Results.CatchUp;
import io.ferry.bench.Results.Delivered;
import io.ferry.bench.Results.Latency;
import io.ferry.bench.Results.Sustained;
import io.ferry.bench.Results.SystemResult;
import io.ferry.bench.Results.TargetCheck;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyComparisonTest {

    @Test
    void comparesEveryPolicyWithReportWhateverTheOrderTheyRanIn() {
        PolicyComparison comparison = PolicyComparison.of(List.of(run("lww", 95_000, 8.0), run("report", 100_000, 4.0)));
        assertEquals("report", comparison.baseline());
        assertEquals(1, comparison.policies().size());
        PolicyComparison.Policy lww = comparison.policies().get(0);
        assertEquals("lww", lww.conflictPolicy());
        assertEquals(0.95, lww.toBaseline().get("sustainedSetOpsPerSecond"), 1e-9);
        assertEquals(4.0, lww.latencyDeltaMs().get("latencyP99At10000"), 1e-9);
        assertTrue(lww.checks().stream().allMatch(TargetCheck::met), lww.checks().toString());
    }

    @Test
    void missesWhenThroughputFallsMoreThanTenPercentOrP99RisesMoreThanFiveMs() {
        List<TargetCheck> slower = PolicyComparison.of(List.of(run("report", 100_000, 4.0), run("lww", 89_000, 4.0)))
                .policies().get(0).checks();
        assertFalse(check(slower, "sustained SET").met());
        List<TargetCheck> later = PolicyComparison.of(List.of(run("report", 100_000, 4.0), run("lww", 100_000, 9.5)))
                .policies().get(0).checks();
        assertFalse(check(later, "p99").met());
        assertTrue(check(later, "sustained SET").met());
    }

    @Test
    void sideBySideTableNamesEveryPolicyAndTheCriterion() {
        List<Results> runs = List.of(run("lww", 95_000, 8.0), run("report", 100_000, 4.0));
        String table = ResultsTable.renderComparison(runs, PolicyComparison.of(runs));
        assertTrue(table.contains("ferry (lww)") && table.contains("ferry (report)") && table.contains("lww vs report"), table);
        assertTrue(table.contains("0.95x") && table.contains("+4.00 ms") && table.contains("<=report +5 ms"), table);
    }

    private static TargetCheck check(List<TargetCheck> checks, String figure) {
        return checks.stream().filter(c -> c.figure().startsWith(figure)).findFirst().orElseThrow();
    }

    private static Results run(String policy, double setOps, double p99At10k) {
        Sustained set = new Sustained("set", setOps, true, setOps, List.of(), Map.of("apply", 0.01));
        Sustained mixed = new Sustained("mixed", setOps / 2, true, setOps / 2, List.of(), Map.of());
        List<Latency> latency = List.of(new Latency("main", 10_000, 2.0, p99At10k, p99At10k + 1, p99At10k + 2, 1000, 0, null, 50, 1));
        CatchUp catchUp = new CatchUp(1000, 100_000, 0.1, 0.2, 200_000, 50, 66, "");
        Delivered delivered = new Delivered(10, 10, 1, 0, 0, 0, true);
        SystemResult ferry = new SystemResult("ferry", set, mixed, latency, catchUp, Map.of(), Map.of(), delivered);
        SystemResult nat = new SystemResult("native", set, mixed, latency, catchUp, Map.of(), Map.of(), delivered);
        Results.Machine machine = new Results.Machine(2, "", "", "", 1, 1, 1, "", "");
        return new Results(machine, Map.of("conflictPolicy", policy), policy, null, nat, ferry, Map.of(), List.of(), List.of());
    }
}
