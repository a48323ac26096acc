package io.ferry.apply.convergence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class AwaitedCopiesTest {

    private static final KeyId K = new KeyId(0, "k".getBytes(StandardCharsets.UTF_8));
    private static final KeyId J = new KeyId(0, "j".getBytes(StandardCharsets.UTF_8));

    @Test
    void onlyTheAskedOriginsCopyEndsTheWait() {
        AwaitedCopies awaited = new AwaitedCopies(10, 1_000);
        awaited.await(K, "a", 0);
        awaited.arrived("c", List.of(K));
        assertTrue(awaited.holds(K, 10), "c's write is no copy of a's gap writes");
        awaited.arrived("a", List.of(J, K));
        assertFalse(awaited.holds(K, 20));
        assertEquals(0, awaited.takeExpired());
    }

    @Test
    void aWaitPastItsDeadlineReleasesTheKeyAndIsCountedOnce() {
        AwaitedCopies awaited = new AwaitedCopies(10, 1_000);
        awaited.await(K, "a", 0);
        assertTrue(awaited.holds(K, 999));
        assertFalse(awaited.holds(K, 1_000));
        assertFalse(awaited.holds(K, 1_001));
        assertEquals(1, awaited.takeExpired());
        assertEquals(0, awaited.takeExpired());
    }

    @Test
    void keysBeyondTheBoundAreNotHeldAndStaleWaitsArePurged() {
        AwaitedCopies awaited = new AwaitedCopies(1, 1_000);
        awaited.await(K, "a", 0);
        awaited.await(J, "a", 0);
        assertFalse(awaited.holds(J, 1), "over the bound: not held");
        awaited.purge(2_000);
        assertEquals(0, awaited.size());
        assertEquals(0, awaited.takeExpired(), "a purged wait held no repair");
    }
}
