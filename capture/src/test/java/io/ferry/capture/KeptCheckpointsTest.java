package io.ferry.capture;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.schemas.AppliedVector;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KeptCheckpointsTest {

    @Test
    void aCopyHoldingOneOfTheKnownCheckpointsSaysWhatOfThePeersItContains() {
        AppliedVector before = AppliedVector.of(Map.of("b:0", 10L, "c:0", 7L));
        assertTrue(ReplicationSession.keptCheckpoints(before, AppliedVector.of(Map.of("b:0", 12L))));
        assertTrue(ReplicationSession.keptCheckpoints(AppliedVector.EMPTY, AppliedVector.EMPTY), "nothing known: nothing lost");
    }

    @Test
    void aCopyThatLostEveryCheckpointWasFlushedAndIsNotPublishedAsAResync() {
        AppliedVector before = AppliedVector.of(Map.of("b:0", 10L));
        assertFalse(ReplicationSession.keptCheckpoints(before, AppliedVector.EMPTY));
    }
}
