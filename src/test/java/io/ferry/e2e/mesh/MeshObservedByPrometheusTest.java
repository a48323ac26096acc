package io.ferry.e2e.mesh;

import io.ferry.e2e.ops.PrometheusServer;
import io.ferry.localmesh.Await;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 4: a real Prometheus scrapes a running mesh (real capture and apply agents on real Redis and
 * Kafka) and every dashboard panel's query and every alert rule's selector returns data. The mesh is
 * driven the way an operator's would be on a bad day: ordinary writes plus a type clash (dead letter and
 * conflict), so the error panels have series too.
 */
class MeshObservedByPrometheusTest {

    @Test
    void everyDashboardPanelAndAlertRuleQueryReturnsDataFromARunningMesh() {
        try (MeshUnderTest mesh = MeshUnderTest.start("A", "B")) {
            List<PrometheusServer.Target> targets = new ArrayList<>();
            for (String name : mesh.names()) {
                targets.add(new PrometheusServer.Target("127.0.0.1:" + mesh.port("capture", name), "capture", mesh.id(name)));
                targets.add(new PrometheusServer.Target("127.0.0.1:" + mesh.port("apply", name), "apply", mesh.id(name)));
            }
            ConflictsTest.atOnce(mesh, (name, c) -> {
                for (int i = 0; i < 20; i++) {
                    c.async().set("plain:" + name + ":" + i, "v" + i);
                    if (name.equals("A")) {
                        c.async().hset("clash:" + i, "field", "hash on A");
                    } else {
                        c.async().set("clash:" + i, "string on B");
                    }
                }
            });
            Await.until(MeshUnderTest.CONVERGE, "a type clash dead-lettered on B",
                    () -> mesh.metric("B", "apply", "ferry_apply_dead_letters_total") >= 1);
            try (PrometheusServer prometheus = PrometheusServer.start("local", targets)) {
                prometheus.awaitTargetsUp(Duration.ofSeconds(60));
                prometheus.awaitData(Duration.ofSeconds(60), servedByTheAgents(PrometheusServer.dashboardQueries("local")));
                prometheus.awaitData(Duration.ofSeconds(60), servedByTheAgents(PrometheusServer.ruleSelectors()));
            }
        }
    }

    /** Leaves out the join's series: only a running {@code ferry join} serves them (PrometheusQueriesTest covers them). */
    private static List<String> servedByTheAgents(List<String> queries) {
        return queries.stream().filter(q -> !q.contains("ferry_join_")).toList();
    }
}
