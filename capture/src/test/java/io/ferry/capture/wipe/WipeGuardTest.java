package io.ferry.capture.wipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.schemas.AppliedVector;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WipeGuardTest {

    private static final AppliedVector APPLIED = AppliedVector.of(Map.of("b:0", 812L, "c:0", 77L));

    private static Optional<String> check(String previous, String now, long known, AppliedVector applied, long keys, Set<String> checkpoints) {
        return WipeGuard.check(previous, now, known, applied, 10, new WipeGuard.Copy(keys, checkpoints));
    }

    @Test
    void aSourceBackEmptyUnderANewReplicationIdAfterHavingDataIsWiped() {
        Optional<String> why = check("old", "new", 120_000, AppliedVector.EMPTY, 0, Set.of());
        assertEquals(Optional.of("it holds 0 key(s) where it had 120000 (fewer than 10%)"), why);
    }

    @Test
    void aSourceWithFewerThanTheConfiguredShareOfItsKeysIsWipedAndOneWithMoreIsNot() {
        assertTrue(check("old", "new", 1000, AppliedVector.EMPTY, 99, Set.of()).isPresent());
        assertFalse(check("old", "new", 1000, AppliedVector.EMPTY, 100, Set.of()).isPresent(), "exactly 10% is kept");
        assertTrue(WipeGuard.check("old", "new", 1000, AppliedVector.EMPTY, 50, new WipeGuard.Copy(400, Set.of())).isPresent(),
                "the share is configurable");
    }

    @Test
    void aSourceThatLostEveryApplyCheckpointItHeldIsWipedWhateverItsKeyCount() {
        Optional<String> why = check("old", "new", 1000, APPLIED, 900, Set.of());
        assertTrue(why.orElseThrow().contains("none of the apply checkpoints it held (b:0=812,c:0=77)"), why.toString());
        assertFalse(check("old", "new", 1000, APPLIED, 900, Set.of("c:0")).isPresent(), "a failover keeps its checkpoints");
        assertTrue(check("old", "new", -1, APPLIED, 5, Set.of()).isPresent(), "no key count known: the checkpoints still tell");
    }

    @Test
    void sameReplicationIdFirstStartUnknownHistoryOrGuardOffAreNeverWiped() {
        assertFalse(check("same", "same", 1000, APPLIED, 0, Set.of()).isPresent(), "fell out of the backlog: not a wipe");
        assertFalse(check(null, "new", 1000, APPLIED, 0, Set.of()).isPresent(), "first start");
        assertFalse(check("old", "new", -1, AppliedVector.EMPTY, 0, Set.of()).isPresent(), "nothing known about before");
        assertFalse(check("old", "new", 0, AppliedVector.EMPTY, 0, Set.of()).isPresent(), "it had no data");
        assertFalse(WipeGuard.check("old", "new", 1000, APPLIED, 0, new WipeGuard.Copy(0, Set.of())).isPresent(), "0% switches it off");
        assertFalse(WipeGuard.worthChecking("old", "new", -1, AppliedVector.EMPTY, 10), "no need to read the copy");
        assertTrue(WipeGuard.worthChecking("old", "new", 5, AppliedVector.EMPTY, 10));
    }
}
