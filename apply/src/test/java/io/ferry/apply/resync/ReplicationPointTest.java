package io.ferry.apply.resync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ReplicationPointTest {

    private static final String NEW = "8f7c0d5e2b9a41c6a3f0e1d2c3b4a5968778695a";
    private static final String OLD = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d";

    private static String info(String replid, String replid2, long second, long offset) {
        return "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nmaster_failover_state:no-failover\r\nmaster_replid:" + replid
                + "\r\nmaster_replid2:" + replid2 + "\r\nmaster_repl_offset:" + offset + "\r\nsecond_repl_offset:" + second
                + "\r\nrepl_backlog_active:1\r\n";
    }

    @Test
    void aMasterThatNeverFailedOverIsReachedByWhatWasPublishedUnderItsReplicationId() {
        ReplicationPoint point = ReplicationPoint.parse(info(NEW, "0000000000000000000000000000000000000000", -1, 5000));
        assertEquals(new ReplicationPoint(NEW, "0000000000000000000000000000000000000000", -1, 5000), point);
        assertTrue(point.reachedBy(published(Map.of(NEW, 5000L))));
        assertFalse(point.reachedBy(published(Map.of(NEW, 4999L))));
        assertFalse(point.reachedBy(published(Map.of(OLD, 9000L))), "another master's stream, whatever its offset");
    }

    @Test
    void afterAFailoverThePreviousIdCountsOnlyForOffsetsBeforeTheSwitch() {
        // promoted at offset 3000: its history up to there is the old master's
        assertTrue(ReplicationPoint.parse(info(NEW, OLD, 3001, 2500)).reachedBy(published(Map.of(OLD, 2600L))));
        assertFalse(ReplicationPoint.parse(info(NEW, OLD, 3001, 3500)).reachedBy(published(Map.of(OLD, 3600L))),
                "past the switch only the new id's stream holds the writes");
        assertTrue(ReplicationPoint.parse(info(NEW, OLD, 3001, 3500)).reachedBy(published(Map.of(OLD, 3000L, NEW, 3500L))));
    }

    @Test
    void aReplyWithoutAnOffsetIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> ReplicationPoint.parse("# Replication\r\nrole:master\r\n"));
    }

    private static java.util.function.ToLongFunction<String> published(Map<String, Long> byReplid) {
        return replid -> byReplid.getOrDefault(replid, -1L);
    }
}
