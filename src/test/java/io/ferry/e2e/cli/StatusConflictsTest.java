package io.ferry.e2e.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.e2e.conflicts.ConflictTopicFixture;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ConflictingWrite;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@code ferry status} on conflicts, read straight from the conflicts topics (no monitor running): per
 * instance the count by class and by resolution and the latest conflicts, and across the mesh the two
 * records of a pair counted once.
 */
class StatusConflictsTest {

    @Test
    void showsEachInstancesConflictsAndTheMeshWideOpenOnes() throws Exception {
        try (ConflictTopicFixture mesh = new ConflictTopicFixture("status", "a", "b")) {
            RedisServer redisA = TestServers.redis(TestServers.redis62());
            RedisServer redisB = TestServers.redis(TestServers.redis62());
            Path file = TestServers.tempDir("status-conflicts").resolve("mesh.yaml");
            Files.writeString(file, mesh.meshYaml(redisA.port(), redisB.port()));
            String a = mesh.id("a");
            String b = mesh.id("b");
            ConflictingWrite onA = mesh.write("a", 17, 1_000);
            ConflictingWrite onB = mesh.write("b", 42, 1_010);
            mesh.send(mesh.pair("b", "VALUE", "user:1", onA, onB, "lww", "b", "RECORDED"),
                    mesh.pair("a", "VALUE", "user:1", onB, onA, "lww", "b", "SKIPPED"),
                    mesh.setnx("b", "a", "lock", 300));

            CliErrorsTest.Run run = CliErrorsTest.ferry("status", "--config", file.toString());
            String out = run.out();
            assertEquals(5, run.exitCode(), "no capture has run (offsets topics missing): " + run);
            assertTrue(out.contains("  conflicts    2  (CONDITIONAL_WRITE 1, VALUE 1)  ferry inspect -c FILE ferry." + b
                    + ".conflicts --from-beginning\n"), run.toString());
            assertTrue(out.contains("    by class and resolution: CONDITIONAL_WRITE: RECORDED 1; VALUE: RECORDED 1\n"), run.toString());
            assertTrue(out.contains("    last 2 (oldest first):\n"), run.toString());
            assertTrue(out.contains(" VALUE \"user:1\" db 0  " + a + "@17 vs " + b + "@42  lww, winner " + b + "  RECORDED\n"), run.toString());
            assertTrue(out.contains(" CONDITIONAL_WRITE \"lock\" db 0  from " + a + "  RECORDED\n"), run.toString());
            assertTrue(out.contains("    by class and resolution: VALUE: SKIPPED 1\n"), run.toString());
            assertTrue(out.contains("conflicts across the mesh (both sides' records of a pair merged): 1 open, 1 resolved, 0 reported\n"),
                    run.toString());
            assertTrue(out.contains("    CONDITIONAL_WRITE \"lock\" db 0  reply:" + b + "/" + a + "@" + ConflictTopicFixture.REPLID
                    + ":300  RECORDED  (recorded by " + b + ")\n"), run.toString());

            CliErrorsTest.Run countsOnly = CliErrorsTest.ferry("status", "--config", file.toString(), "--instance", b, "--conflicts", "0");
            assertTrue(countsOnly.out().contains("  conflicts    2  (CONDITIONAL_WRITE 1, VALUE 1)"), countsOnly.toString());
            assertFalse(countsOnly.out().contains("last "), "--conflicts 0 lists none: " + countsOnly);
            assertFalse(countsOnly.out().contains("across the mesh"), "one instance is not the mesh: " + countsOnly);

            CliErrorsTest.Run windowed = CliErrorsTest.ferry("status", "--config", file.toString(), "--conflicts-window", "1");
            assertTrue(windowed.out().contains("  conflicts    about 2, of which the latest 1  (CONDITIONAL_WRITE 1)  ferry inspect -c FILE ferry."
                    + b + ".conflicts --from-beginning\n"), "only the latest offset of b's topic is read: " + windowed);
            assertTrue(windowed.out().contains("conflicts across the mesh (the latest 1 of each topic, both sides' records of a pair merged):"
                    + " 1 open, 1 resolved, 0 reported\n"), windowed.toString());
        }
    }
}
