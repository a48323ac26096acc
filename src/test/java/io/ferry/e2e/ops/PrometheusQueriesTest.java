package io.ferry.e2e.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.FreePorts;
import io.ferry.topology.AgentHttpServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real Prometheus scrapes two instances' capture and apply agents and runs every dashboard panel's,
 * every dashboard variable's and every alert rule's query. The agents here are the agents' real meter
 * classes (CaptureMetrics, ApplyMetrics) behind the real AgentHttpServer, driven with made-up activity,
 * so no Redis or Kafka is needed; a test against a running mesh only changes the targets (see
 * {@link PrometheusServer}).
 */
class PrometheusQueriesTest {

    private static final String MESH = "ops-test";
    private static final List<AgentHttpServer> AGENTS = new ArrayList<>();
    private static ScheduledExecutorService activity;
    private static PrometheusServer prometheus;

    @BeforeAll
    static void startAgentsAndPrometheus() {
        List<PrometheusServer.Target> targets = new ArrayList<>();
        List<AgentMeters> meters = List.of(new AgentMeters("a", "b"), new AgentMeters("b", "a"));
        for (AgentMeters m : meters) {
            m.tick();
            AgentHttpServer capture = new AgentHttpServer("127.0.0.1", FreePorts.next(), m.captureRegistry, () -> null);
            AgentHttpServer apply = new AgentHttpServer("127.0.0.1", FreePorts.next(), m.applyRegistry, () -> null);
            AGENTS.add(capture);
            AGENTS.add(apply);
            targets.add(new PrometheusServer.Target("127.0.0.1:" + capture.port(), "capture", m.instance));
            targets.add(new PrometheusServer.Target("127.0.0.1:" + apply.port(), "apply", m.instance));
        }
        activity = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "agent-activity");
            t.setDaemon(true);
            return t;
        });
        activity.scheduleAtFixedRate(() -> meters.forEach(AgentMeters::tick), 200, 200, TimeUnit.MILLISECONDS);
        prometheus = PrometheusServer.start(MESH, targets);
        prometheus.awaitTargetsUp(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stopAll() {
        if (prometheus != null) {
            prometheus.close();
        }
        if (activity != null) {
            activity.shutdownNow();
        }
        AGENTS.forEach(AgentHttpServer::close);
    }

    @Test
    void everyDashboardQueryReturnsData() {
        prometheus.awaitData(Duration.ofSeconds(30), PrometheusServer.dashboardQueries(MESH));
    }

    @Test
    void dashboardVariablesListTheMeshAndItsInstances() {
        Await.equal(Duration.ofSeconds(30), "meshes", Set.of(MESH), () -> labelValues(DashboardTest.variableQueries().get(0), "mesh"));
        Await.equal(Duration.ofSeconds(30), "instances", Set.of("a", "b"), () -> labelValues(DashboardTest.variableQueries().get(1), "instance"));
    }

    @Test
    void everyAlertRuleEvaluatesCleanlyOnDataItSelects() {
        Await.until(Duration.ofSeconds(30), "every rule evaluated", () -> prometheus.rules().stream()
                .allMatch(r -> !String.valueOf(r.get("lastEvaluation")).startsWith("0001")));
        Map<String, Object> unhealthy = new LinkedHashMap<>();
        for (Map<String, Object> rule : prometheus.rules()) {
            if (!"ok".equals(rule.get("health"))) {
                unhealthy.put((String) rule.get("name"), rule.get("lastError"));
            }
        }
        assertEquals(Map.of(), unhealthy, "rules that failed to evaluate");
        assertEquals(AlertRulesTest.alerts().size(), prometheus.rules().size(), "every rule of ferry-rules.yaml is loaded");

        prometheus.awaitData(Duration.ofSeconds(30), PrometheusServer.ruleSelectors());
    }

    @Test
    void deadLettersConflictsFullResyncsAndFailedRepairsFireTheirAlertsWithMeshInstanceAndPeer() {
        // the activity dead-letters, conflicts, full-resyncs and fails a repair all the time; these alerts have no `for`
        Set<String> expected = Set.of("FerryDeadLettersGrowing/a/b", "FerryDeadLettersGrowing/b/a",
                "FerryConflicts/a/b", "FerryConflicts/b/a", "FerryFullResync/a/-", "FerryFullResync/b/-",
                "FerryRepairsFailing/a/-", "FerryRepairsFailing/b/-");
        Await.until(Duration.ofSeconds(30), "alerts firing: " + expected, () -> firing().containsAll(expected));
        assertTrue(firing().stream().noneMatch(a -> a.startsWith("FerryReplicationLagHigh") || a.startsWith("FerryCaptureDown")
                || a.startsWith("FerryApplyDown") || a.startsWith("FerryCaptureMissing") || a.startsWith("FerryConflictStorm")),
                "healthy agents fire no other alert (a storm needs 10 minutes): " + firing());
    }

    private static Set<String> labelValues(String variableQuery, String label) {
        Set<String> values = new TreeSet<>();
        for (Object series : prometheus.query(PrometheusServer.asGrafanaSends(PromQl.unwrapLabelValues(variableQuery), MESH))) {
            values.add(String.valueOf(OpsTools.at(series, "metric", label)));
        }
        return values;
    }

    /** Firing alerts as alertname/instance/peer ("-" without a peer label), all of them of this mesh. */
    private static Set<String> firing() {
        Set<String> firing = new TreeSet<>();
        for (Object alert : prometheus.query("ALERTS{alertstate=\"firing\"}")) {
            Map<String, Object> labels = OpsTools.map(OpsTools.at(alert, "metric"));
            assertEquals(MESH, labels.get("mesh"), "alerts carry the mesh label: " + labels);
            firing.add(labels.get("alertname") + "/" + labels.get("instance") + "/" + labels.getOrDefault("peer", "-"));
        }
        return firing;
    }
}
