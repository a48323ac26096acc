package io.ferry.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.topology.conflict.ConflictPolicy;
import io.ferry.topology.conflict.ConflictRules;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MeshConfigLoaderTest {

    private static final String MESH = """
            mesh: prod
            kafka:
              bootstrap: kafka-eu:9092
              properties:
                security.protocol: SSL
            instances:
              eu-1:
                redis: {uri: "redis://10.0.0.1:6380", passwordEnv: EU_PASSWORD}
              us-1:
                redis: {uri: "rediss://default@10.1.0.1", cluster: true}
                kafka: {bootstrap: "kafka-us:9092"}
              ap-1:
                redis: "redis://10.2.0.1:6379"
            apply:
              maxBatchEvents: 200
            """;

    @Test
    void readsEveryInstanceWithItsTopicsAndPeers() {
        MeshConfig mesh = MeshConfigLoader.parse(MESH, "test", Map.of("EU_PASSWORD", "s3cret"));
        assertEquals("prod", mesh.mesh());
        assertEquals(List.of("eu-1", "us-1", "ap-1"), List.copyOf(mesh.instances().keySet()));
        InstanceConfig eu = mesh.instance("eu-1");
        assertEquals("s3cret", eu.redis().password());
        assertEquals(6380, eu.redis().port());
        assertEquals("kafka-eu:9092", eu.kafka().bootstrap());
        assertEquals("SSL", eu.kafka().clientProperties().getProperty("security.protocol"));
        InstanceConfig us = mesh.instance("us-1");
        assertTrue(us.redis().tls());
        assertTrue(us.redis().cluster(), "a cluster's seed node");
        assertFalse(eu.redis().cluster(), "standalone unless the file says cluster: true");
        assertEquals("default", us.redis().username());
        assertEquals("kafka-us:9092", us.kafka().bootstrap());
        assertEquals(List.of("ferry.us-1.changes", "ferry.ap-1.changes"), mesh.peerTopicsOf("eu-1"));
        assertEquals(200, mesh.apply().maxBatchEvents());
    }

    @Test
    void environmentOverridesSingleValues() {
        MeshConfig mesh = MeshConfigLoader.parse(MESH, "test", Map.of(
                "EU_PASSWORD", "x",
                "FERRY_INSTANCES_AP_1_REDIS_URI", "redis://127.0.0.1:7000",
                "FERRY_INSTANCES_AP_1_REDIS_PASSWORD", "from-env",
                "FERRY_KAFKA_BOOTSTRAP", "127.0.0.1:9092"));
        assertEquals(7000, mesh.instance("ap-1").redis().port());
        assertEquals("from-env", mesh.instance("ap-1").redis().password());
        assertEquals("127.0.0.1:9092", mesh.instance("eu-1").kafka().bootstrap());
        assertEquals("kafka-us:9092", mesh.instance("us-1").kafka().bootstrap());
    }

    @Test
    void reportsEveryProblemAtOnceWithWhatToFix() {
        ConfigException e = assertThrows(ConfigException.class, () -> MeshConfigLoader.parse("""
                instances:
                  a: {redis: {uri: "http://x"}, colour: blue}
                  b: {redis: {uri: "redis://:pw@h:1"}}
                apply: {maxBatchEvents: lots}
                """, "mesh.yaml", Map.of()));
        List<String> problems = e.problems();
        assertTrue(problems.stream().anyMatch(p -> p.startsWith("mesh: missing")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("instances.a.colour: unknown key")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("must be redis://host:port")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("do not put the password in the URI")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("apply.maxBatchEvents: 'lots'")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("no Kafka for this instance")), problems.toString());
        assertTrue(e.getMessage().contains("mesh.yaml"));
    }

    @Test
    void evictionFilterIsOnByDefaultAndCanBeSwitchedOff() {
        assertTrue(MeshConfigLoader.parse(MESH, "test", Map.of("EU_PASSWORD", "x")).capture().filterEvictions());
        MeshConfig off = MeshConfigLoader.parse(MESH, "test", Map.of("EU_PASSWORD", "x", "FERRY_CAPTURE_FILTEREVICTIONS", "false"));
        assertFalse(off.capture().filterEvictions());
        ConfigException e = assertThrows(ConfigException.class,
                () -> MeshConfigLoader.parse(MESH + "capture: {filterEvictions: maybe}\n", "test", Map.of("EU_PASSWORD", "x")));
        assertTrue(e.problems().contains("capture.filterEvictions: 'maybe' is not true or false"), e.problems().toString());
    }

    @Test
    void changesTopicsKeepSevenDaysUnlessTheMeshFileSaysOtherwiseAndAnInstancesOwnKafkaInheritsTheValue() {
        MeshConfig defaults = MeshConfigLoader.parse(MESH, "test", Map.of("EU_PASSWORD", "x"));
        assertEquals(168, defaults.instance("eu-1").kafka().retentionHours());
        assertEquals(168L * 3_600_000, defaults.instance("us-1").kafka().retentionMillis());

        String withRetention = MESH.replace("  bootstrap: kafka-eu:9092\n", "  bootstrap: kafka-eu:9092\n  retentionHours: 336\n");
        MeshConfig set = MeshConfigLoader.parse(withRetention, "test", Map.of("EU_PASSWORD", "x"));
        assertEquals(336, set.instance("eu-1").kafka().retentionHours());
        assertEquals(336, set.instance("us-1").kafka().retentionHours(), "an instance's own kafka section inherits it");

        MeshConfig own = MeshConfigLoader.parse(withRetention.replace("{bootstrap: \"kafka-us:9092\"}",
                "{bootstrap: \"kafka-us:9092\", retentionHours: -1}"), "test", Map.of("EU_PASSWORD", "x"));
        assertEquals(-1, own.instance("us-1").kafka().retentionMillis(), "-1: no time limit");
        assertEquals(336, own.instance("ap-1").kafka().retentionHours());

        MeshConfig fromEnv = MeshConfigLoader.parse(MESH, "test", Map.of("EU_PASSWORD", "x", "FERRY_KAFKA_RETENTIONHOURS", "72"));
        assertEquals(72, fromEnv.instance("eu-1").kafka().retentionHours());

        ConfigException e = assertThrows(ConfigException.class, () -> MeshConfigLoader.parse(
                withRetention.replace("retentionHours: 336", "retentionHours: 0"), "test", Map.of("EU_PASSWORD", "x")));
        assertReported(e.problems(), "kafka.retentionHours: 0 would delete every change at once");
    }

    @Test
    void wipeGuardAndBacklogWarningHaveDefaultsAndRanges() {
        CaptureSettings defaults = MeshConfigLoader.parse(MESH, "test", Map.of("EU_PASSWORD", "x")).capture();
        assertEquals(10, defaults.wipeGuardPercent());
        assertEquals(60, defaults.backlogWarnSeconds());
        CaptureSettings set = MeshConfigLoader.parse(MESH + "capture: {wipeGuardPercent: 0, backlogWarnSeconds: 300}\n", "test",
                Map.of("EU_PASSWORD", "x")).capture();
        assertEquals(0, set.wipeGuardPercent());
        assertEquals(300, set.backlogWarnSeconds());
        ConfigException e = assertThrows(ConfigException.class, () -> MeshConfigLoader.parse(
                MESH + "capture: {wipeGuardPercent: 150}\n", "test", Map.of("EU_PASSWORD", "x")));
        assertReported(e.problems(), "capture.wipeGuardPercent: 150 is out of range");
    }

    @Test
    void neverPrintsThePassword() {
        MeshConfig mesh = MeshConfigLoader.parse(MESH, "test", Map.of("EU_PASSWORD", "s3cret"));
        assertFalse(mesh.toString().contains("s3cret"));
        assertFalse(mesh.instance("eu-1").redis().toString().contains("s3cret"));
        assertNull(mesh.instance("ap-1").redis().password());
    }

    private static final String THREE = """
            mesh: prod
            kafka: {bootstrap: "kafka:9092"}
            instances:
              eu-1: {redis: "redis://10.0.0.1:6379"}
              us-1: {redis: "redis://10.1.0.1:6379"}
              ap-1: {redis: "redis://10.2.0.1:6379"}
            """;

    private static byte[] key(String text) {
        return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static List<String> conflictProblems(String conflicts) {
        ConfigException e = assertThrows(ConfigException.class, () -> MeshConfigLoader.parse(THREE + conflicts, "mesh.yaml", Map.of()));
        return e.problems();
    }

    private static void assertReported(List<String> problems, String prefix) {
        assertTrue(problems.stream().anyMatch(p -> p.startsWith(prefix)), "no problem starting with '" + prefix + "' in " + problems);
    }

    @Test
    void readsConflictRulesInOrderWithTheirPolicies() {
        MeshConfig mesh = MeshConfigLoader.parse(THREE + """
                conflicts:
                  - {match: "session:*", policy: priority, order: [eu-1, us-1]}
                  - {match: "audit:*", policy: report}
                  - {match: "cart:*", policy: LWW}
                """, "mesh.yaml", Map.of());
        ConflictRules rules = mesh.conflicts();
        assertEquals(3, rules.rules().size());
        assertEquals("session:*", rules.rules().get(0).match().glob());
        assertEquals(ConflictPolicy.priority(List.of("eu-1", "us-1")), rules.policyFor(key("session:1")));
        assertEquals(ConflictPolicy.REPORT, rules.policyFor(key("audit:7")));
        assertEquals(ConflictPolicy.LWW, rules.policyFor(key("cart:7")));
        assertEquals(ConflictPolicy.LWW, rules.policyFor(key("other")));
    }

    @Test
    void withoutConflictsEveryKeyIsLastWriterWins() {
        MeshConfig mesh = MeshConfigLoader.parse(THREE, "mesh.yaml", Map.of());
        assertEquals(ConflictRules.DEFAULT, mesh.conflicts());
        assertEquals(ConflictPolicy.LWW, mesh.conflicts().policyFor(key("session:1")));
    }

    @Test
    void reportsAnUnknownConflictPolicyWithItsPath() {
        List<String> problems = conflictProblems("""
                conflicts:
                  - {match: "a:*", policy: lww}
                  - {match: "b:*", policy: newest}
                """);
        assertEquals(List.of("conflicts[1].policy: 'newest' is not one of lww, priority, report"), problems);
    }

    @Test
    void reportsPriorityWithoutAnOrder() {
        List<String> problems = conflictProblems("""
                conflicts:
                  - {match: "a:*", policy: priority}
                """);
        assertEquals(1, problems.size(), problems.toString());
        assertReported(problems, "conflicts[0].order: policy priority needs the instances in order of precedence");
        assertReported(conflictProblems("conflicts: [{match: \"a:*\", policy: priority, order: []}]\n"), "conflicts[0].order:");
    }

    @Test
    void reportsAnOrderNamingAnInstanceOutsideTheMesh() {
        List<String> problems = conflictProblems("""
                conflicts:
                  - {match: "a:*", policy: priority, order: [eu-1, eu-2]}
                """);
        assertEquals(1, problems.size(), problems.toString());
        assertReported(problems, "conflicts[0].order: 'eu-2' is not an instance of this mesh");
    }

    @Test
    void reportsAnOrderOnAPolicyOtherThanPriority() {
        List<String> problems = conflictProblems("""
                conflicts:
                  - {match: "a:*", policy: lww, order: [eu-1, us-1]}
                  - {match: "b:*", policy: report, order: [us-1]}
                """);
        assertEquals(List.of("conflicts[0].order: only policy priority takes an order",
                "conflicts[1].order: only policy priority takes an order"), problems);
    }

    @Test
    void reportsAnOrderThatIsNotAList() {
        List<String> problems = conflictProblems("""
                conflicts:
                  - {match: "a:*", policy: priority, order: eu-1}
                """);
        assertReported(problems, "conflicts[0].order: expected a list of instance ids, found 'eu-1'");
    }

    @Test
    void reportsConflictsThatAreNotAList() {
        List<String> problems = conflictProblems("""
                conflicts: {match: "a:*", policy: lww}
                """);
        assertEquals(1, problems.size(), problems.toString());
        assertReported(problems, "conflicts: expected a list of {match, policy, order} entries");
    }

    @Test
    void reportsAnEntryThatIsNotAMap() {
        assertReported(conflictProblems("conflicts: [lww]\n"), "conflicts[0]: expected a map of keys");
    }

    @Test
    void reportsAMissingMatchOrPolicyWithItsPath() {
        List<String> problems = conflictProblems("""
                conflicts:
                  - {policy: lww}
                  - {match: "b:*"}
                """);
        assertReported(problems, "conflicts[0].match: missing");
        assertReported(problems, "conflicts[1].policy: missing");
        assertEquals(2, problems.size(), problems.toString());
    }

    @Test
    void reportsAnUnknownKeyInAConflictEntry() {
        assertReported(conflictProblems("conflicts: [{match: \"a:*\", policy: lww, winner: eu-1}]\n"),
                "conflicts[0].winner: unknown key");
    }

    @Test
    void reportsEveryConflictProblemAtOnce() {
        List<String> problems = conflictProblems("""
                conflicts:
                  - {match: "a:*", policy: newest}
                  - {policy: priority, order: [mars-1]}
                  - {match: "c:*", policy: lww, order: [eu-1]}
                """);
        assertReported(problems, "conflicts[0].policy:");
        assertReported(problems, "conflicts[1].match: missing");
        assertReported(problems, "conflicts[1].order: 'mars-1'");
        assertReported(problems, "conflicts[2].order: only policy priority");
    }
}
