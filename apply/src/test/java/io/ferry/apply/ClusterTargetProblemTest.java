package io.ferry.apply;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.topology.MeshConfig;
import io.ferry.topology.MeshConfigLoader;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClusterTargetProblemTest {

    private static MeshConfig mesh(boolean cluster, String conflicts) {
        return MeshConfigLoader.parse("mesh: test\nkafka: {bootstrap: \"k:9092\"}\ninstances:\n"
                + "  a: {redis: {uri: \"redis://a:6379\"" + (cluster ? ", cluster: true" : "") + "}}\n"
                + "  b: {redis: {uri: \"redis://b:6379\"}}\n" + conflicts, "test", Map.of());
    }

    @Test
    void aClusterTargetNeedsEveryKeySettledByReport() {
        String problem = ApplyService.clusterTargetProblem(mesh(true, ""), "a");
        assertTrue(problem != null && problem.contains("{match: \"*\", policy: report}"), problem);
        assertTrue(ApplyService.clusterTargetProblem(mesh(true, "conflicts: [{match: \"s:*\", policy: report}]\n"), "a") != null,
                "keys outside s:* would still be repaired by lww");
        assertTrue(ApplyService.clusterTargetProblem(mesh(true, "conflicts: [{match: \"s:*\", policy: lww}, {match: \"*\", policy: report}]\n"),
                "a") != null);
        assertNull(ApplyService.clusterTargetProblem(mesh(true, "conflicts: [{match: \"*\", policy: report}]\n"), "a"));
    }

    @Test
    void aStandaloneTargetKeepsEveryPolicy() {
        assertNull(ApplyService.clusterTargetProblem(mesh(false, ""), "a"));
        assertNull(ApplyService.clusterTargetProblem(mesh(true, ""), "b"));
    }
}
