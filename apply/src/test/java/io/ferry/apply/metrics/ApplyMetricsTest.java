package io.ferry.apply.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class ApplyMetricsTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final ApplyMetrics.Peer peer = new ApplyMetrics(registry, "b", 1000).peer("a");
    private final long now = System.currentTimeMillis();

    private double lagSeconds() {
        return registry.get("ferry.apply.lag.seconds").tag("peer", "a").gauge().value();
    }

    @Test
    void aPeersLagIsThatOfItsPartitionFurthestBehind() {
        peer.lagRecords(10);
        peer.captured(0, now - 60_000, false); // shard 0 stalled a minute ago
        peer.captured(1, now - 10, true);      // shard 1 current
        double lag = lagSeconds();
        assertTrue(lag >= 59 && lag < 120, "the stalled shard's lag, not the current one's: " + lag);

        peer.captured(0, now, false);
        peer.lagRecords(0);
        assertEquals(0.0, lagSeconds(), "caught up on every partition");
    }

    @Test
    void aRetiredPartitionNoLongerCountsForThePeersLag() {
        peer.lagRecords(0);
        peer.captured(3, now - 60_000, false); // the retired partition's last heartbeat, a minute old
        peer.captured(0, now, false);
        assertTrue(lagSeconds() >= 59);
        peer.retired(3);
        peer.captured(3, now - 60_000, false);
        assertEquals(0.0, lagSeconds(), "partition 3 is retired");
    }
}
