package io.ferry.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Catch-up speed of the apply agent alone: a backlog of SET events already in the peer's topic is
 * applied from scratch; the rate is printed (the mesh's end-to-end figure is in the e2e ThroughputTest).
 */
class CatchUpRateTest {

    @Test
    void appliesABacklogOfOneHundredThousandEventsAndReportsTheRate() {
        int events = 100_000;
        try (PeerTopicFixture f = new PeerTopicFixture("apply: {maxBatchEvents: 1000}")) {
            long last = f.produceMany(events, i -> f.command("SET", "key:" + (i % 50_000), "value-" + i));
            long start = System.nanoTime();
            f.startApply();
            Await.until(Duration.ofSeconds(90), "a fifth applied", () -> f.checkpoint() != null && f.checkpoint() >= events / 5);
            long warm = System.nanoTime();
            long warmOffset = f.checkpoint();
            Await.equal(Duration.ofSeconds(90), "backlog applied", last, f::checkpoint);
            long end = System.nanoTime();
            double seconds = (end - start) / 1e9;
            System.out.printf("CATCH-UP: %d events applied in %.2f s = %.0f events/s including agent start;"
                    + " %.0f events/s once warm (last %d events)%n", events, seconds, events / seconds,
                    (last - warmOffset) / ((end - warm) / 1e9), last - warmOffset);
            assertEquals(50_000L, f.redisCommands.dbsize() - 1, "50000 keys plus the checkpoint");
            assertTrue(events / seconds > 2000, "catch-up slower than 2000 events/s");
        }
    }
}
