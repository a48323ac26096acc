package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/** Issue 3, test 2: kill -9 of an apply agent, again and again, never applies a write twice or loses one. */
class ExactlyOnceUnderKillTest {

    @Test
    void applyAgentKilledRepeatedlyWhilePeersWriteAppliesEveryWriteExactlyOnce() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.start("A", "B", "C")) {
            CounterLoad onA = new CounterLoad(mesh, "A", 50_000, 20, Duration.ofSeconds(12)).start();
            CounterLoad onB = new CounterLoad(mesh, "B", 50_000, 20, Duration.ofSeconds(12)).start();
            int kills = 0;
            while (!(onA.isDone() && onB.isDone()) || kills < 5) {
                // the fault schedule: once C's agent is applying again, let it run a moment, then SIGKILL it mid-batch
                long before = mesh.checkpoint("C", "A");
                Await.until(Duration.ofSeconds(60), "C's apply agent applying", () -> onA.isDone() || mesh.checkpoint("C", "A") > before);
                Thread.sleep(ThreadLocalRandom.current().nextLong(300, 1500));
                mesh.apply("C").kill();
                kills++;
                mesh.startApply("C");
            }
            mesh.awaitReady("C", "apply");
            onA.await();
            onB.await();
            Await.until(MeshUnderTest.CONVERGE, "C applied A's and B's writes", () -> onA.appliedOn("C") && onB.appliedOn("C"));
            onA.assertAppliedExactlyOnceOn("C");
            onB.assertAppliedExactlyOnceOn("C");
            Await.until(MeshUnderTest.CONVERGE, "A and B applied each other's writes", () -> onA.appliedOn("B") && onB.appliedOn("A"));
            onA.assertAppliedExactlyOnceOn("B");
            onB.assertAppliedExactlyOnceOn("A");
            assertTrue(kills >= 5, "killed " + kills + " times");
            assertEquals(0.0, mesh.metric("C", "apply", "ferry_apply_dead_letters_total"));
            System.out.printf("C's apply agent killed %d times; 100000 writes applied exactly once%n", kills);
        }
    }
}
