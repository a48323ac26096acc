package io.ferry.capture.position;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BacklogHeadroomTest {

    private static final long S = 1_000_000_000L;

    @Test
    void headroomIsTheBacklogsFreeRoomOverTheWriteRate() {
        BacklogHeadroom headroom = new BacklogHeadroom();
        headroom.observe(0, "r", 0);
        assertTrue(Double.isNaN(headroom.seconds(1 << 20, 0)), "unknown after one reading");
        for (int i = 1; i <= 10; i++) {
            headroom.observe(i * S, "r", i * 10_000L); // 10 kB/s
        }
        assertEquals(10_000, headroom.bytesPerSecond(), 1e-6);
        assertEquals(100.0, headroom.seconds(1_000_000, 0), 1e-6);
        assertEquals(90.0, headroom.seconds(1_000_000, 100_000), 1e-6, "what the capture has not committed is already used");
        assertEquals(0.0, headroom.seconds(1_000_000, 2_000_000), 1e-6);
    }

    @Test
    void anIdleSourceIsCappedAtADayAndTheRateFollowsTheLastTenSeconds() {
        BacklogHeadroom headroom = new BacklogHeadroom();
        for (int i = 0; i <= 30; i++) {
            headroom.observe(i * S, "r", i < 15 ? i * 1_000_000L : 15_000_000L);
        }
        assertEquals(0, headroom.bytesPerSecond(), 1e-6, "the burst is older than the window");
        assertEquals(BacklogHeadroom.CAP_SECONDS, headroom.seconds(1 << 20, 0));
    }

    @Test
    void aNewReplicationHistoryOrAnOffsetGoingBackStartsTheRateOver() {
        BacklogHeadroom headroom = new BacklogHeadroom();
        headroom.observe(0, "r1", 5_000_000);
        headroom.observe(2 * S, "r1", 5_020_000);
        headroom.observe(3 * S, "r2", 100);
        assertTrue(Double.isNaN(headroom.bytesPerSecond()));
        headroom.observe(5 * S, "r2", 2_100);
        assertEquals(1_000, headroom.bytesPerSecond(), 1e-6);
    }

    @Test
    void warnsWhenItDropsBelowTheThresholdAgainEveryTenMinutesAndSaysWhenItIsBack() {
        BacklogHeadroom headroom = new BacklogHeadroom();
        assertEquals(BacklogHeadroom.Change.NONE, headroom.classify(500, 60, 0));
        assertEquals(BacklogHeadroom.Change.LOW, headroom.classify(30, 60, S));
        assertEquals(BacklogHeadroom.Change.NONE, headroom.classify(20, 60, 2 * S));
        assertEquals(BacklogHeadroom.Change.STILL_LOW, headroom.classify(20, 60, 601 * S));
        assertEquals(BacklogHeadroom.Change.NONE, headroom.classify(90, 60, 602 * S), "not back until twice the threshold");
        assertEquals(BacklogHeadroom.Change.RECOVERED, headroom.classify(120, 60, 603 * S));
        assertEquals(BacklogHeadroom.Change.NONE, headroom.classify(1, 0, 604 * S), "0 never warns");
        assertEquals(BacklogHeadroom.Change.NONE, headroom.classify(Double.NaN, 60, 605 * S));
    }
}
