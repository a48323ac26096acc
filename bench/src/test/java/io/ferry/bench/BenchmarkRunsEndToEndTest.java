package io.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.bench.Results.SystemResult;
import io.ferry.localmesh.RedisBinary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark once, on a tiny load: every server and agent starts, every figure is produced and
 * written, and Ferry delivers every write. Speed is the benchmark's printed figures, never asserted here.
 */
class BenchmarkRunsEndToEndTest {

    @Test
    void quickRunProducesEveryFigureAndFerryDeliversEveryWrite(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(RedisBinary.system().isPresent(), "redis-server is not installed");
        Path out = dir.resolve("results.json");
        List<Results> runs = BenchMain.run(BenchConfig.parse("--quick", "--out", out.toString(),
                "--work-dir", dir.resolve("work").toString()));
        assertEquals(1, runs.size(), "one Ferry run: the default conflict policy");
        Results results = runs.get(0);

        String json = Files.readString(out);
        for (String figure : List.of("ceiling", "setOpsPerSecond", "nativeReplication", "ferry", "set", "probeTargetOpsPerSecond", "windows",
                "mixed", "latency", "p50Ms", "p99Ms", "p999Ms", "machineStealPercent", "catchUp", "opsPerSecond", "cpuSecondsPer1kOps",
                "peakRssBytes", "streamBytesPerOp", "respBytesPerOp", "ferryToAnchor", "allWritesDelivered", "loadBefore",
                "conflictPolicy")) {
            assertTrue(json.contains("\"" + figure + "\""), "results.json lacks " + figure);
        }
        // the product default, written into the mesh file the agents ran with and named in the table
        assertEquals("lww", results.conflictPolicy());
        assertTrue(Files.readString(dir.resolve("work").resolve("ferry-lww").resolve("mesh.yaml"))
                .contains("conflicts:\n  - {match: \"*\", policy: lww}"), "mesh file names the policy");
        assertTrue(ResultsTable.render(results).contains("ferry (lww)"), "table names the policy");
        assertTrue(results.ceiling().setOpsPerSecond() > 0, "source ceiling");
        for (SystemResult system : List.of(results.nativeReplication(), results.ferry())) {
            String name = system.name();
            assertTrue(system.set().windows().stream().anyMatch(w -> w.targetOpsPerSecond() > 0), name + " SET throughput");
            assertTrue(system.mixed().windows().stream().anyMatch(w -> w.targetOpsPerSecond() > 0), name + " mixed throughput");
            assertEquals(2, system.latency().size(), name + " latency at 1k and 10k");
            system.latency().forEach(l -> assertTrue(l.measured() > 0 && l.p99Ms() > 0, name + " latency at " + l.offeredOpsPerSecond()));
            // the machine's CPU during each latency measurement: something was busy, and steal is a share
            system.latency().forEach(l -> assertTrue(l.machineBusyPercent() > 0 && l.machineStealPercent() >= 0
                    && l.machineBusyPercent() + l.machineStealPercent() <= 100.01, name + " machine CPU " + l));
            assertTrue(system.catchUp().opsPerSecond() > 0, name + " catch-up");
            assertTrue(system.catchUp().streamBytesPerOp() > 0, name + " bytes per op");
            assertTrue(system.delivered().allWritesDelivered(), name + " delivered every write: " + system.delivered());
        }
        for (String role : List.of("capture", "apply", "target-capture", "kafka")) {
            assertNotNull(results.ferry().set().cpuSecondsPer1kOps().get(role), "CPU of " + role);
            assertTrue(results.ferry().peakRssBytes().get(role) > 0, "peak RSS of " + role);
        }
    }
}
