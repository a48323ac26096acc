package io.ferry.cli.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class ScanCursorTest {

    @Test
    void goesOnAlongTheNodeWhileItsCursorIsNotZero() {
        assertEquals(new ScanCursor(0, "17"), ScanCursor.INITIAL.after("17", 3));
        assertEquals(new ScanCursor(1, "5"), new ScanCursor(1, "17").after("5", 3));
    }

    @Test
    void movesToTheNextMasterWhenOneIsScannedToTheEnd() {
        assertEquals(new ScanCursor(1, "0"), new ScanCursor(0, "17").after("0", 3));
        assertEquals(new ScanCursor(2, "0"), new ScanCursor(1, "0").after("0", 3));
    }

    @Test
    void endsAfterTheLastNode() {
        assertNull(new ScanCursor(2, "9").after("0", 3));
        assertNull(ScanCursor.INITIAL.after("0", 1), "a standalone server is one node");
    }
}
