package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.LocalKafka;
import io.ferry.localmesh.TestServers;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Issue 3, test 3: the Kafka broker restarts and a target Redis stops for 10 s, both mid-load. */
class FaultsTest {

    @Test
    void kafkaBrokerRestartMidLoadLosesAndDoublesNothing() {
        LocalKafka kafka = TestServers.ownKafka();
        try (MeshUnderTest mesh = MeshUnderTest.servers(kafka, null, "A", "B")) {
            mesh.startAgents();
            CounterLoad onA = new CounterLoad(mesh, "A", 20_000, 10, Duration.ofSeconds(10)).start();
            CounterLoad onB = new CounterLoad(mesh, "B", 20_000, 10, Duration.ofSeconds(10)).start();
            Await.until(Duration.ofSeconds(60), "B applying A's load", () -> mesh.checkpoint("B", "A") > 1000);
            kafka.stop();
            kafka.start();
            onA.await();
            onB.await();
            Await.until(MeshUnderTest.CONVERGE, "both applied each other's load", () -> onA.appliedOn("B") && onB.appliedOn("A"));
            onA.assertAppliedExactlyOnceOn("B");
            onB.assertAppliedExactlyOnceOn("A");
        } finally {
            kafka.stop();
        }
    }

    @Test
    void targetRedisStoppedForTenSecondsMidLoadCatchesUpExactly() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.start("A", "B")) {
            // B keeps its data across the stop (an RDB written at shutdown), like a restarted server with persistence.
            mesh.redis("B").configSet("save", "3600 1");
            CounterLoad onA = new CounterLoad(mesh, "A", 30_000, 10, Duration.ofSeconds(15)).start();
            Await.until(Duration.ofSeconds(60), "B applying A's load", () -> mesh.checkpoint("B", "A") > 1000);
            mesh.local().redis(mesh.id("B")).stop();
            long stopped = System.nanoTime();
            Await.until(Duration.ofSeconds(30), "B's apply agent reports Redis unavailable",
                    () -> mesh.httpGet("B", "apply", "/readyz").contains("redis unavailable"));
            // the fault: Redis B stays down for 10 seconds while A keeps writing
            Thread.sleep(Math.max(0, 10_000 - (System.nanoTime() - stopped) / 1_000_000));
            mesh.local().redis(mesh.id("B")).start();
            onA.await();
            Await.until(MeshUnderTest.CONVERGE, "B applied all of A's load", () -> onA.appliedOn("B"));
            onA.assertAppliedExactlyOnceOn("B");
            assertTrue(mesh.metric("B", "apply", "ferry_apply_reconnects_total") >= 1);
            Await.until(Duration.ofSeconds(60), "B's apply agent ready again", () -> mesh.httpGet("B", "apply", "/readyz").startsWith("ready"));
        }
    }
}
