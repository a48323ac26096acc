package io.ferry.cli.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.schemas.EventKind;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class CopyPointMatcherTest {

    private static final String R = "a".repeat(40);

    @Test
    void theCheckpointIsTheRecordBeforeTheFirstOnePastTheCopy() {
        CopyPointMatcher matcher = new CopyPointMatcher(R, 1000);
        assertTrue(matcher.next(10, EventKind.COMMAND, R, 900).isEmpty());
        assertTrue(matcher.next(12, EventKind.TRANSACTION, R, 1000).isEmpty()); // in the copy; more may follow at 1000
        assertEquals(OptionalLong.of(13), matcher.next(14, EventKind.COMMAND, R, 1040));
    }

    @Test
    void aHeartbeatAtTheCopysPositionDecidesWithoutWaitingForTheNextWrite() {
        CopyPointMatcher matcher = new CopyPointMatcher(R, 1000);
        assertTrue(matcher.next(20, EventKind.COMMAND, R, 1000).isEmpty());
        assertEquals(OptionalLong.of(22), matcher.next(22, EventKind.HEARTBEAT, R, 1000));
    }

    @Test
    void aHeartbeatBelowTheCopyDoesNotDecide() {
        CopyPointMatcher matcher = new CopyPointMatcher(R, 1000);
        assertTrue(matcher.next(5, EventKind.HEARTBEAT, R, 999).isEmpty());
    }

    @Test
    void recordsOfAnEarlierHistoryComeBeforeTheCopy() {
        CopyPointMatcher matcher = new CopyPointMatcher(R, 1000);
        assertTrue(matcher.next(1, EventKind.COMMAND, "b".repeat(40), 5_000_000).isEmpty());
        assertEquals(OptionalLong.of(2), matcher.next(3, EventKind.COMMAND, R, 1001));
    }

    @Test
    void aScanMayStartAtARecordAtOrBeforeTheCopyOrOfAnEarlierHistory() {
        CopyPointMatcher matcher = new CopyPointMatcher(R, 1000);
        assertTrue(matcher.atOrBefore(R, 1000));
        assertTrue(matcher.atOrBefore("b".repeat(40), 9_000));
        assertTrue(!matcher.atOrBefore(R, 1001));
    }

    @Test
    void aNewHistoryAfterTheCopyIsRefused() {
        CopyPointMatcher matcher = new CopyPointMatcher(R, 1000);
        matcher.next(1, EventKind.COMMAND, R, 10);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> matcher.next(2, EventKind.SNAPSHOT_START, "c".repeat(40), 0));
        assertTrue(e.getMessage().contains("run the join again"), e.getMessage());
    }
}
