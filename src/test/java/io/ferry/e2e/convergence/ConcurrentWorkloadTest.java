package io.ferry.e2e.convergence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.e2e.mesh.MeshUnderTest;
import io.ferry.localmesh.Await;
import io.ferry.localmesh.TestServers;
import io.ferry.topology.conflict.ConflictPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Three instances, three writers at once on a small shared keyspace, every data type: after the last
 * write the instances hold the same keys within 10 s, under {@code lww} and under {@code priority};
 * under {@code report} every key left different has a recorded conflict. One mesh for the three runs,
 * each in its own key namespace, which the mesh file's {@code conflicts:} rules map to a policy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConcurrentWorkloadTest {

    /** The bound; a slower machine may allow more with -Dferry.convergence.settleSeconds=N. */
    private static final Duration CONVERGE_AFTER_LAST_WRITE = Duration.ofSeconds(Long.getLong("ferry.convergence.settleSeconds", 10));
    private static final Duration STABLE_FOR = Duration.ofSeconds(1);
    /** After a failure, how long to keep watching so the report tells slow from wrong. */
    private static final Duration LATE_CONVERGENCE = Duration.ofSeconds(30);
    private static final Set<String> REPORT_RESOLUTIONS = Set.of("RECORDED", "COMMUTES");

    private MeshUnderTest mesh;
    private Replicas replicas;
    private ConflictLog conflicts;

    @BeforeAll
    void startMesh() {
        mesh = MeshWithPolicies.start(TestServers.kafka(), m -> "conflicts:\n"
                + "  - {match: \"prio:*\", policy: priority, order: [" + m.id("A") + ", " + m.id("B") + ", " + m.id("C") + "]}\n"
                + "  - {match: \"report:*\", policy: report}\n", "A", "B", "C");
        replicas = new Replicas(mesh);
        conflicts = new ConflictLog(mesh);
    }

    @AfterAll
    void stopMesh() {
        if (conflicts != null) {
            conflicts.close();
        }
        if (replicas != null) {
            replicas.close();
        }
        if (mesh != null) {
            mesh.close();
        }
    }

    @Test
    @Order(1)
    void concurrentWritesOfEveryTypeConvergeWithinTenSecondsUnderLastWriterWins() {
        // no rule matches lww:*, so these keys get the default policy
        assertConvergesAndSettlesBy("lww:", Duration.ofSeconds(30), ConflictPolicy.LWW);
    }

    @Test
    @Order(2)
    void concurrentWritesOfEveryTypeConvergeWithinTenSecondsUnderPriority() {
        assertConvergesAndSettlesBy("prio:", Duration.ofSeconds(30),
                ConflictPolicy.priority(List.of(mesh.id("A"), mesh.id("B"), mesh.id("C"))));
    }

    @Test
    @Order(3)
    void underReportEveryKeyLeftDifferentHasARecordedConflict() {
        String ns = "report:";
        Workload load = new Workload(mesh, Workload.Settings.of(ns, Duration.ofSeconds(20))).start();
        load.await();
        // quiescence: each writer's last write (its done marker) has been applied everywhere
        for (String on : mesh.names()) {
            for (String writer : mesh.names()) {
                String marker = ns + "done:" + writer;
                Await.equal(CONVERGE_AFTER_LAST_WRITE, marker + " on " + on, String.valueOf(load.opsOn(writer)),
                        () -> replicas.connection(on).sync().get(marker));
            }
        }
        Map<String, Map<String, Snapshot.Value>> diverged = replicas.differences(ns);
        List<String> unexplained = new ArrayList<>(diverged.keySet());
        long deadline = System.nanoTime() + CONVERGE_AFTER_LAST_WRITE.toNanos();
        List<ConflictLog.Entry> recorded = List.of();
        while (!unexplained.isEmpty() && System.nanoTime() < deadline) {
            recorded = conflicts.read(e -> e.key().startsWith(ns));
            Set<String> withConflict = recorded.stream().map(ConflictLog.Entry::key).collect(Collectors.toSet());
            unexplained.removeIf(withConflict::contains);
            if (!unexplained.isEmpty()) {
                Replicas.sleepQuietly(200);
            }
        }
        recorded = conflicts.read(e -> e.key().startsWith(ns));
        printFigures("report", load, recorded, diverged);
        Map<String, Map<String, Snapshot.Value>> withoutConflict = new TreeMap<>(diverged);
        withoutConflict.keySet().retainAll(unexplained);
        assertTrue(unexplained.isEmpty(), unexplained.size() + " of " + diverged.size()
                + " keys differ between the instances with no conflict recorded for them:" + Snapshot.describe(withoutConflict, 40));
        assertFalse(recorded.isEmpty(), "a load this dense on a shared keyspace always has concurrent writes; none recorded");
        for (ConflictLog.Entry entry : recorded) {
            assertTrue(recordedUnder(entry, "report"), "policy of " + entry);
            assertTrue(REPORT_RESOLUTIONS.contains(entry.resolution()), "report only records: " + entry);
        }
    }

    private void assertConvergesAndSettlesBy(String ns, Duration duration, ConflictPolicy policy) {
        Workload load = new Workload(mesh, Workload.Settings.of(ns, duration)).start();
        load.await();
        Snapshot agreed = null;
        AssertionError notConverged = null;
        try {
            agreed = replicas.awaitIdentical(ns, CONVERGE_AFTER_LAST_WRITE, STABLE_FOR, policy.kind().label() + " workload");
        } catch (AssertionError e) {
            notConverged = e;
        }
        if (notConverged != null) {
            String lag = load.lastWritesApplied(replicas);
            String later = replicas.awaitIdenticalQuietly(ns, LATE_CONVERGENCE)
                    .map(ms -> "they became identical " + ms + " ms later: too slow, not wrong")
                    .orElse("they still differed " + LATE_CONVERGENCE.toSeconds() + " s later");
            StringBuilder details = new StringBuilder();
            try {
                Map<String, Map<String, Snapshot.Value>> diverged = replicas.differences(ns);
                printFigures(policy.kind().label(), load, conflicts.read(e -> e.key().startsWith(ns)), diverged);
                List<ConflictLog.Entry> onDiverged = conflicts.read(e -> diverged.containsKey(e.key()));
                onDiverged.forEach(System.out::println);
                String history = KeyHistory.of(mesh, diverged.keySet());
                System.out.print(history);
                // the end of a CI log is often all that is kept: the message carries the last of both
                details.append("\nthe last conflict records of the diverged keys:\n");
                onDiverged.subList(Math.max(0, onDiverged.size() - 12), onDiverged.size()).forEach(e -> details.append("  ").append(e).append('\n'));
                details.append(KeyHistory.of(mesh, diverged.keySet().stream().limit(2).collect(Collectors.toSet()), 10));
                for (String name : mesh.names()) {
                    for (String role : List.of("capture", "apply")) {
                        String warnings = mesh.warnings(role, name, 40);
                        System.out.printf("warnings of %s %s:%n%s%n", role, name, warnings);
                        details.append("\nlast warnings of ").append(role).append(' ').append(name).append(":\n")
                                .append(warnings.lines().skip(Math.max(0, warnings.lines().count() - 3)).collect(Collectors.joining("\n")));
                    }
                }
            } catch (RuntimeException | AssertionError e) {
                details.append("\n(collecting the details failed: ").append(e).append(')');
            }
            throw new AssertionError(notConverged.getMessage() + "\n" + lag + "\n" + later + details, notConverged);
        }
        List<ConflictLog.Entry> recorded = conflicts.read(e -> e.key().startsWith(ns));
        Map<String, Map<String, Snapshot.Value>> after = replicas.differences(ns);
        printFigures(policy.kind().label(), load, recorded, after);
        System.out.printf("  keys on every instance after quiescence: %d%n", agreed.keys().size());

        if (!after.isEmpty()) {
            // a write that took effect after the agreed state (a late repair?): what it was, and where it led
            StringBuilder details = new StringBuilder("converged, then differed again:" + Snapshot.describe(after, 40));
            details.append("\nthe last conflict records of those keys:\n");
            List<ConflictLog.Entry> onKeys = conflicts.read(e -> after.containsKey(e.key()));
            onKeys.subList(Math.max(0, onKeys.size() - 12), onKeys.size()).forEach(e -> details.append("  ").append(e).append('\n'));
            details.append(KeyHistory.of(mesh, after.keySet().stream().limit(2).collect(Collectors.toSet()), 10));
            Replicas.sleepQuietly(10_000);
            Map<String, Map<String, Snapshot.Value>> later = replicas.differences(ns);
            details.append("\n10 s later: ").append(later.isEmpty() ? "identical again, agreed on" + Snapshot.describe(
                    replicas.snapshots(ns).values().iterator().next().keys().entrySet().stream().filter(e -> after.containsKey(e.getKey()))
                            .collect(Collectors.toMap(Map.Entry::getKey, e -> Map.of("all", e.getValue()))), 40)
                    : "still different:" + Snapshot.describe(later, 40));
            System.out.println(details);
            throw new AssertionError(details.toString());
        }
        assertFalse(recorded.isEmpty(), "a load this dense on a shared keyspace always has concurrent writes; none recorded");
        for (ConflictLog.Entry entry : recorded) {
            assertTrue(recordedUnder(entry, policy.kind().label()), "policy of " + entry);
            assertTrue(!"REPAIR_FAILED".equals(entry.resolution()), entry.toString());
            if (entry.winner() != null && entry.write() != null && entry.other() != null) {
                String expected = policy.winner(new ConflictPolicy.Write(entry.write().origin(), entry.write().timeMillis()),
                        new ConflictPolicy.Write(entry.other().origin(), entry.other().timeMillis()));
                assertEquals(expected, entry.winner(), "winner by " + policy + " of " + entry);
            }
        }
    }

    private void printFigures(String policy, Workload load, List<ConflictLog.Entry> recorded,
            Map<String, Map<String, Snapshot.Value>> diverged) {
        Function<String, String> perInstance = name -> name + "=" + load.opsOn(name);
        System.out.printf("figures (%s): writes per instance %s%s%n  conflicts: %s%n  diverged keys after quiescence: %d%s%n",
                policy, mesh.names().stream().map(perInstance).toList(), load.figures(),
                ConflictLog.countByClassAndResolution(recorded), diverged.size(), Snapshot.describe(diverged, 10));
    }

    /** The record names the policy (alone, or followed by its settings: "priority [a, b]"); empty for reply-only conflicts. */
    private static boolean recordedUnder(ConflictLog.Entry entry, String label) {
        return entry.policy().isEmpty() || entry.policy().equals(label) || entry.policy().startsWith(label + " ");
    }
}
