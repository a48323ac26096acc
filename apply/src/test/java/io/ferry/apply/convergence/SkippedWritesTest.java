package io.ferry.apply.convergence;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.apply.convergence.SkippedWrites.Outcome;
import org.junit.jupiter.api.Test;

class SkippedWritesTest {

    @Test
    void aWritesOutcomeIsKnownFromTheFirstWriteJudgedOfItsPartition() {
        SkippedWrites writes = new SkippedWrites(10);
        assertEquals(Outcome.UNKNOWN, writes.outcome("B:0", 5), "nothing judged of B:0 yet");
        writes.judged("B:0", 10, Outcome.APPLIED);
        writes.judged("B:0", 11, Outcome.SKIPPED);
        writes.judged("B:0", 12, Outcome.UNKNOWN); // read again after a restart, with a concurrent local write
        writes.judged("B:0", 13, Outcome.APPLIED);
        assertEquals(Outcome.UNKNOWN, writes.outcome("B:0", 9), "before the first write judged by this agent");
        assertEquals(Outcome.APPLIED, writes.outcome("B:0", 10));
        assertEquals(Outcome.SKIPPED, writes.outcome("B:0", 11));
        assertEquals(Outcome.UNKNOWN, writes.outcome("B:0", 12));
        assertEquals(Outcome.APPLIED, writes.outcome("B:0", 13));
        assertEquals(Outcome.UNKNOWN, writes.outcome("C:0", 13), "another partition");
    }

    @Test
    void aForgottenSkipMakesItAndEverythingBeforeItUnknown() {
        SkippedWrites writes = new SkippedWrites(2);
        writes.judged("B:0", 1, Outcome.SKIPPED);
        writes.judged("B:0", 2, Outcome.APPLIED);
        writes.judged("B:0", 3, Outcome.SKIPPED);
        writes.judged("B:0", 4, Outcome.SKIPPED); // past the bound: the skip at 1 is forgotten
        assertEquals(Outcome.UNKNOWN, writes.outcome("B:0", 1));
        assertEquals(Outcome.APPLIED, writes.outcome("B:0", 2), "judged after the forgotten one: still known");
        assertEquals(Outcome.SKIPPED, writes.outcome("B:0", 3));
        assertEquals(Outcome.SKIPPED, writes.outcome("B:0", 4));
    }
}
