package io.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class BenchConfigTest {

    @Test
    void runsTheProductDefaultPolicyWithTheTargetsCaptureUnlessToldOtherwise() {
        BenchConfig config = BenchConfig.parse("--quick");
        assertEquals(List.of("lww"), config.conflictPolicies());
        assertTrue(config.targetCapture());
        assertFalse(BenchConfig.parse("--no-target-capture").targetCapture());
    }

    @Test
    void comparePoliciesRunsLwwThenReport() {
        assertEquals(List.of("lww", "report"), BenchConfig.parse("--compare-policies").conflictPolicies());
        assertEquals(List.of("report", "priority"), BenchConfig.parse("--conflict-policy", "Report, priority").conflictPolicies());
    }

    @Test
    void rejectsAnUnknownOrRepeatedPolicyWithTheChoices() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> BenchConfig.parse("--conflict-policy", "fifo"));
        assertTrue(unknown.getMessage().contains("'fifo' is not one of lww, report, priority"), unknown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BenchConfig.parse("--conflict-policy", "lww,lww"));
        assertThrows(IllegalArgumentException.class, () -> BenchConfig.parse("--compare-policies", "--conflict-policy", "lww"));
    }

    @Test
    void writesOneConflictsEntryForEveryKeyAndPriorityPutsTheSourceFirst() {
        assertEquals("conflicts:\n  - {match: \"*\", policy: report}\n", FerryOneWay.conflictsSection("report"));
        assertEquals("conflicts:\n  - {match: \"*\", policy: priority, order: [a, b]}\n", FerryOneWay.conflictsSection("priority"));
    }
}
