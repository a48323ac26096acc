package io.ferry.e2e.ops;

import static io.ferry.e2e.ops.OpsTools.at;
import static io.ferry.e2e.ops.OpsTools.list;
import static io.ferry.e2e.ops.OpsTools.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * grafana/dashboards/ferry.json: it type-checks against Grafana's own schema (npm @grafana/schema, with
 * tsc), offers the datasource, mesh and instance variables and uses them in every query, and every
 * metric it (and the alert rules) query is one the agents really export: the names are checked against
 * the contract list and against the meters the agents' code registers. Whether each query returns data
 * from a real Prometheus is {@link PrometheusQueriesTest}'s job.
 */
class DashboardTest {

    static final Path DASHBOARD = OpsTools.grafana().resolve("dashboards/ferry.json");

    @Test
    void typeChecksAgainstGrafanasSchema() {
        OpsTools.Result result = OpsTools.run(List.of(OpsTools.node(), "grafana/tests/typecheck-dashboard.cjs",
                OpsTools.nodeTools().toString(), DASHBOARD.toString()), null, OpsTools.repo(), Map.of(), Duration.ofSeconds(90));
        result.assertSuccess();
        assertTrue(result.stdout().contains("1 dashboard(s) match @grafana/schema"), result.output());
    }

    @Test
    void offersDatasourceMeshAndInstanceVariables() {
        Map<String, Map<String, Object>> variables = new LinkedHashMap<>();
        for (Object variable : list(at(dashboard(), "templating", "list"))) {
            variables.put((String) map(variable).get("name"), map(variable));
        }
        assertEquals(List.of("datasource", "mesh", "instance"), new ArrayList<>(variables.keySet()));
        assertEquals("datasource", variables.get("datasource").get("type"));
        assertEquals("prometheus", variables.get("datasource").get("query"));
        assertEquals(Set.of("up"), PromQl.metricNames(query(variables.get("mesh"))));
        assertTrue(query(variables.get("instance")).contains("mesh=\"$mesh\""), "instances of the chosen mesh");
        assertEquals(true, variables.get("instance").get("multi"));
        assertEquals(true, variables.get("instance").get("includeAll"));
    }

    @Test
    void everyPanelQueriesTheChosenDatasourceMeshAndInstances() {
        for (Map<String, Object> panel : panels()) {
            String title = (String) panel.get("title");
            assertEquals("${datasource}", at(panel, "datasource", "uid"), title);
            for (Object target : list(panel.get("targets"))) {
                String expr = (String) map(target).get("expr");
                assertEquals("${datasource}", at(target, "datasource", "uid"), title);
                for (String selector : PromQl.selectors(expr)) {
                    assertTrue(selector.contains("mesh=\"$mesh\"") && selector.contains("instance=~\"$instance\""),
                            title + ": " + selector + " must filter by mesh=\"$mesh\" and instance=~\"$instance\"");
                }
            }
        }
    }

    @Test
    void showsLagThroughputLatencyErrorsResyncsReconnectsAndAgentHealth() {
        Set<String> used = new TreeSet<>();
        Set<String> quantiles = new HashSet<>();
        for (String expr : panelQueries()) {
            used.addAll(PromQl.metricNames(expr));
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("histogram_quantile\\((0\\.\\d+)").matcher(expr);
            while (m.find()) {
                quantiles.add(m.group(1));
            }
        }
        Set<String> missing = new TreeSet<>(AgentMeters.EXPORTED);
        missing.add("up");
        missing.removeAll(used);
        assertEquals(Set.of(), missing, "every exported metric has a place on the dashboard");
        assertTrue(quantiles.containsAll(Set.of("0.5", "0.95", "0.99")), "latency percentiles: " + quantiles);
    }

    @Test
    void queriesOnlyMetricsTheAgentsExport() {
        Map<String, Set<String>> unknown = new LinkedHashMap<>();
        for (String expr : allQueries()) {
            Set<String> names = new TreeSet<>(PromQl.metricNames(expr));
            names.removeAll(AgentMeters.EXPORTED);
            names.removeAll(AgentMeters.FROM_PROMETHEUS);
            if (!names.isEmpty()) {
                unknown.put(expr, names);
            }
        }
        assertEquals(Map.of(), unknown, "dashboard and alert-rule queries using names the agents do not export");
    }

    @Test
    void theAgentsMeterClassesExportEveryNameOfTheContract() {
        AgentMeters meters = new AgentMeters("a", "b");
        meters.tick();
        Set<String> missing = new TreeSet<>(AgentMeters.EXPORTED);
        missing.removeAll(meters.scrapedNames());
        assertEquals(Set.of(), missing, "names the dashboard relies on but CaptureMetrics/ApplyMetrics do not register; scraped: "
                + meters.scrapedNames());
    }

    @Test
    void panelsHaveUniqueIdsAndDoNotOverlap() {
        List<Map<String, Object>> panels = new ArrayList<>();
        for (Object panel : list(dashboard().get("panels"))) {
            panels.add(map(panel));
        }
        Set<Object> ids = panels.stream().map(p -> p.get("id")).collect(Collectors.toSet());
        assertEquals(panels.size(), ids.size(), "panel ids are unique");
        for (int i = 0; i < panels.size(); i++) {
            for (int j = i + 1; j < panels.size(); j++) {
                assertFalse(overlap(panels.get(i), panels.get(j)), panels.get(i).get("title") + " overlaps " + panels.get(j).get("title"));
            }
        }
    }

    // ---- reading the dashboard ---------------------------------------------------------------------

    static Map<String, Object> dashboard() {
        return map(OpsTools.yaml(OpsTools.read(DASHBOARD)));
    }

    /** Every panel, those inside rows included, rows left out. */
    static List<Map<String, Object>> panels() {
        List<Map<String, Object>> panels = new ArrayList<>();
        collect(list(dashboard().get("panels")), panels);
        return panels;
    }

    static List<String> panelQueries() {
        List<String> queries = new ArrayList<>();
        for (Map<String, Object> panel : panels()) {
            for (Object target : list(panel.get("targets"))) {
                queries.add((String) map(target).get("expr"));
            }
        }
        return queries;
    }

    static List<String> variableQueries() {
        List<String> queries = new ArrayList<>();
        for (Object variable : list(at(dashboard(), "templating", "list"))) {
            if ("query".equals(map(variable).get("type"))) {
                queries.add(query(map(variable)));
            }
        }
        return queries;
    }

    static List<String> ruleQueries() {
        List<String> queries = new ArrayList<>();
        Object rules = OpsTools.yaml(OpsTools.read(OpsTools.grafana().resolve("alerts/ferry-rules.yaml")));
        for (Object group : list(map(rules).get("groups"))) {
            for (Object rule : list(map(group).get("rules"))) {
                queries.add((String) map(rule).get("expr"));
            }
        }
        return queries;
    }

    private static List<String> allQueries() {
        List<String> all = new ArrayList<>(panelQueries());
        all.addAll(variableQueries());
        all.addAll(ruleQueries());
        return all;
    }

    private static String query(Map<String, Object> variable) {
        Object query = variable.get("query");
        return query instanceof Map<?, ?> m ? (String) m.get("query") : (String) query;
    }

    private static void collect(List<Object> list, List<Map<String, Object>> into) {
        for (Object item : list) {
            Map<String, Object> panel = map(item);
            if ("row".equals(panel.get("type"))) {
                collect(list(panel.get("panels")), into);
            } else {
                into.add(panel);
            }
        }
    }

    private static boolean overlap(Map<String, Object> a, Map<String, Object> b) {
        int ax = (Integer) at(a, "gridPos", "x"), ay = (Integer) at(a, "gridPos", "y");
        int aw = (Integer) at(a, "gridPos", "w"), ah = (Integer) at(a, "gridPos", "h");
        int bx = (Integer) at(b, "gridPos", "x"), by = (Integer) at(b, "gridPos", "y");
        int bw = (Integer) at(b, "gridPos", "w"), bh = (Integer) at(b, "gridPos", "h");
        return ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah;
    }
}
