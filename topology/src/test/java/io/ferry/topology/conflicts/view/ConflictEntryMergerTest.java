package io.ferry.topology.conflicts.view;

import static io.ferry.topology.conflicts.view.ConflictRecords.pair;
import static io.ferry.topology.conflicts.view.ConflictRecords.replyOnly;
import static io.ferry.topology.conflicts.view.ConflictRecords.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.schemas.Conflict;
import io.ferry.schemas.ConflictingWrite;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ConflictEntryMergerTest {

    private static ConflictTableRow merge(ConflictTableRow row, Conflict conflict, long offset) {
        SightingMapper.Mapped mapped = SightingMapper.map(conflict, ReplicationPolicy.conflictsTopic(conflict.getApplier()), 0, offset);
        return ConflictEntryMerger.merge(mapped.key(), row, mapped.observation());
    }

    @Test
    void aReplayedOlderRecordOfTheSameApplierChangesNothing() {
        ConflictingWrite onA = write("a", 1, 1000);
        ConflictingWrite onB = write("b", 2, 2000);
        ConflictTableRow failed = merge(null, pair("b", "VALUE", "k", onA, onB, "lww", "b", "REPAIR_FAILED"), 7);
        ConflictTableRow repaired = merge(failed, pair("b", "VALUE", "k", onA, onB, "lww", "b", "REPAIRED"), 8);
        ConflictTableRow replayed = merge(repaired, pair("b", "VALUE", "k", onA, onB, "lww", "b", "REPAIR_FAILED"), 7);
        assertSame(repaired, replayed, "offset 7 of ferry.b.conflicts is older than the 8 the row holds");
        assertEquals("resolved", replayed.getEntries().get(0).getState());
    }

    @Test
    void bothOrdersOfThePairsWritesNameTheSameEntry() {
        ConflictingWrite onA = write("a", 30, 1000);
        ConflictingWrite onB = write("b", 4, 1000);
        String fromB = SightingMapper.map(pair("b", "VALUE", "k", onA, onB, "lww", "a", "RECORDED"), "t", 0, 0)
                .observation().getEntryId();
        String fromA = SightingMapper.map(pair("a", "VALUE", "k", onB, onA, "lww", "a", "SKIPPED"), "t", 0, 0)
                .observation().getEntryId();
        assertEquals("a@30|b@4", fromB);
        assertEquals(fromB, fromA);
    }

    @Test
    void aWriteWithoutItsKafkaOffsetIsNamedByItsStreamPosition() {
        ConflictingWrite onA = write("a", -1, 1000);
        ConflictingWrite onB = write("b", 4, 1000);
        String id = SightingMapper.map(pair("b", "VALUE", "k", onA, onB, "lww", "a", "RECORDED"), "t", 0, 0)
                .observation().getEntryId();
        assertEquals("a@" + ConflictRecords.REPLID + ":999|b@4", id);
    }

    @Test
    void aRowKeepsItsNewestEntriesAndCountsTheForgottenOnes() {
        byte[] key = "busy".getBytes(StandardCharsets.UTF_8);
        ConflictTableRow row = null;
        for (int i = 0; i < ConflictEntryMerger.MAX_ENTRIES + 5; i++) {
            Conflict settled = pair("b", "VALUE", "busy", write("a", i, 1000 + i), write("b", i, 1000 + i), "lww", "a", "SKIPPED");
            row = merge(row, settled, i);
        }
        row = merge(row, replyOnly("b", "a", "VALUE", key, 1), 1000);
        assertEquals(ConflictEntryMerger.MAX_ENTRIES, row.getEntries().size());
        assertEquals(6, row.getDropped(), "the six oldest settled entries went first");
        assertEquals(1, row.getOpen(), "the open entry is kept");
        assertTrue(row.getEntries().stream().noneMatch(e -> e.getId().startsWith("a@5|")), "oldest settled entries dropped");
    }
}
