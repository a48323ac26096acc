package io.ferry.e2e.ops;

import static io.ferry.e2e.ops.OpsTools.list;
import static io.ferry.e2e.ops.OpsTools.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * grafana/alerts/ferry-rules.yaml: promtool accepts it, its unit tests (ferry-rules.test.yaml) pass,
 * and every alert has unit tests that see it fire and stay quiet, plus what an on-call person needs
 * (severity, summary, description).
 */
class AlertRulesTest {

    static final Path ALERTS = OpsTools.grafana().resolve("alerts");

    @Test
    void promtoolAcceptsTheRuleFile() {
        OpsTools.Result result = OpsTools.run(List.of(OpsTools.promtool(), "check", "rules", "ferry-rules.yaml"),
                null, ALERTS, Map.of(), Duration.ofSeconds(60)).assertSuccess();
        assertTrue(result.output().contains("SUCCESS: " + alerts().size() + " rules found"), result.output());
    }

    @Test
    void promtoolUnitTestsPass() {
        OpsTools.Result result = OpsTools.run(List.of(OpsTools.promtool(), "test", "rules", "ferry-rules.test.yaml"),
                null, ALERTS, Map.of(), Duration.ofSeconds(60)).assertSuccess();
        assertTrue(result.output().contains("SUCCESS"), result.output());
    }

    @Test
    void everyAlertHasAUnitTestWhereItFiresAndOneWhereItStaysQuiet() {
        Set<String> fires = new TreeSet<>();
        Set<String> quiet = new TreeSet<>();
        Object tests = OpsTools.yaml(OpsTools.read(ALERTS.resolve("ferry-rules.test.yaml")));
        assertEquals(List.of("ferry-rules.yaml"), map(tests).get("rule_files"));
        for (Object test : list(map(tests).get("tests"))) {
            for (Object check : list(map(test).get("alert_rule_test"))) {
                String alert = (String) map(check).get("alertname");
                (list(map(check).get("exp_alerts")).isEmpty() ? quiet : fires).add(alert);
            }
        }
        assertEquals(alerts().keySet(), fires, "alerts with a test where they fire");
        assertEquals(alerts().keySet(), quiet, "alerts with a test where they do not fire");
    }

    @Test
    void everyAlertHasSeveritySummaryAndDescription() {
        alerts().forEach((name, rule) -> {
            assertTrue(Set.of("critical", "warning", "info").contains(map(rule.get("labels")).get("severity")), name + " severity");
            Map<String, Object> annotations = map(rule.get("annotations"));
            assertTrue(annotations.get("summary") != null && annotations.get("description") != null, name + " annotations");
            assertTrue(name.startsWith("Ferry"), name + " is named Ferry…");
        });
    }

    @Test
    void coversLagAgentsDownFullResyncsDeadLettersConflictsAndFailedRepairs() {
        Map<String, Set<String>> metricsByAlert = new LinkedHashMap<>();
        alerts().forEach((name, rule) -> metricsByAlert.put(name, PromQl.metricNames((String) rule.get("expr"))));
        Set<String> covered = new TreeSet<>();
        metricsByAlert.values().forEach(covered::addAll);
        assertTrue(covered.containsAll(Set.of("ferry_apply_lag_seconds", "up", "ferry_capture_full_resyncs_total",
                "ferry_apply_dead_letters_total", "ferry_apply_conflicts_total", "ferry_apply_repairs_total")),
                "metrics alerted on: " + metricsByAlert);
        assertTrue(alerts().get("FerryRepairsFailing").get("expr").toString().contains("outcome=\"failed\""));
        assertEquals("10m", alerts().get("FerryConflictStorm").get("for"), "a storm is sustained, not a burst");
        assertTrue(alerts().get("FerryCaptureDown").get("expr").toString().contains("role=\"capture\""));
        assertTrue(alerts().get("FerryApplyDown").get("expr").toString().contains("role=\"apply\""));
    }

    static Map<String, Map<String, Object>> alerts() {
        Map<String, Map<String, Object>> alerts = new LinkedHashMap<>();
        Object file = OpsTools.yaml(OpsTools.read(ALERTS.resolve("ferry-rules.yaml")));
        for (Object group : list(map(file).get("groups"))) {
            for (Object rule : list(map(group).get("rules"))) {
                alerts.put((String) map(rule).get("alert"), map(rule));
            }
        }
        return alerts;
    }
}
