package io.ferry.apply;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CausalWaitTest {

    private static final long SECOND = 1_000_000_000L;

    @Test
    void aRecordWaitsAsLongAsThePartitionItWaitsForKeepsApplying() {
        long since = 0;
        assertTrue(ApplyService.keepsWaiting(60 * SECOND, since, 55 * SECOND), "a minute in, but that partition moved 5 s ago");
    }

    @Test
    void aRecordStopsWaitingTenSecondsAfterThePartitionItWaitsForStoodStill() {
        assertTrue(ApplyService.keepsWaiting(9 * SECOND, 0, 0));
        assertFalse(ApplyService.keepsWaiting(11 * SECOND, 0, 0));
        assertFalse(ApplyService.keepsWaiting(40 * SECOND, 20 * SECOND, 29 * SECOND), "10 s since either moved");
    }

    @Test
    void aRecordThatJustStartedWaitingWaitsEvenForAPartitionStillForLong() {
        assertTrue(ApplyService.keepsWaiting(100 * SECOND, 95 * SECOND, 0));
    }
}
