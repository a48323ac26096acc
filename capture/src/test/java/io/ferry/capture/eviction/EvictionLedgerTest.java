package io.ferry.capture.eviction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class EvictionLedgerTest {

    private final EvictionLedger ledger = new EvictionLedger();

    private static EvictionLedger.Notice evicted(int db, String key) {
        return new EvictionLedger.Notice(db, key.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] key(String key) {
        return key.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aDelInsideTheNotificationsWindowIsTheEviction() {
        ledger.round(100, List.of());                 // before subscribing
        ledger.round(200, List.of(evicted(0, "k")));  // emitted after offset 100, its DEL ends by the next ROLE
        ledger.round(300, List.of());
        assertFalse(ledger.consume(1, key("k"), 150, 160), "another db");
        assertFalse(ledger.consume(0, key("other"), 150, 160), "another key");
        assertTrue(ledger.consume(0, key("k"), 250, 260));
        assertFalse(ledger.consume(0, key("k"), 270, 280), "consumed once");
        assertEquals(0, ledger.size());
    }

    @Test
    void aUsersDelBeforeTheWindowIsNotTakenForALaterEviction() {
        ledger.round(100, List.of());
        ledger.round(200, List.of());
        // the notification of an eviction that happened after offset 200 arrives while the capture still
        // reads older bytes: a DEL of the same key at 150 is the user's
        ledger.round(300, List.of(evicted(0, "k")));
        assertFalse(ledger.consume(0, key("k"), 150, 160));
        assertTrue(ledger.consume(0, key("k"), 250, 260));
    }

    @Test
    void aNotificationWhoseWindowTheStreamPassedIsDroppedAndHidesNoLaterUserDel() {
        ledger.round(100, List.of());
        ledger.round(200, List.of(evicted(0, "k")));
        ledger.round(300, List.of());
        // its DEL was never decided here (say, taken as an expiry); the window ended at 300
        assertFalse(ledger.consume(0, key("k"), 301, 320), "a user's DEL after the window is published");
        assertEquals(0, ledger.size());
        assertEquals(1, ledger.dropped());
    }

    @Test
    void withinOneWindowTheOldestNotificationGoesToTheFirstDel() {
        ledger.round(100, List.of());
        ledger.round(200, List.of(evicted(0, "k"), evicted(0, "k")));
        assertTrue(ledger.consume(0, key("k"), 110, 120));
        assertTrue(ledger.consume(0, key("k"), 130, 140), "the window is open until the next round");
        assertFalse(ledger.consume(0, key("k"), 150, 160));
    }

    @Test
    void clearForgetsEverythingAndStartsNewWindows() {
        ledger.round(100, List.of());
        ledger.round(200, List.of(evicted(0, "k")));
        ledger.clear();
        ledger.round(500, List.of());
        ledger.round(600, List.of(evicted(0, "k")));
        assertFalse(ledger.consume(0, key("k"), 150, 160), "before the new subscription");
        assertTrue(ledger.consume(0, key("k"), 550, 560));
    }

    @Test
    void holdsABoundedNumberOfNotificationsDroppingTheOldest() {
        ledger.round(100, List.of());
        List<EvictionLedger.Notice> many = new java.util.ArrayList<>();
        for (int i = 0; i <= EvictionLedger.MAX_PENDING; i++) {
            many.add(evicted(0, "k" + i));
        }
        ledger.round(200, many);
        assertEquals(EvictionLedger.MAX_PENDING, ledger.size());
        assertEquals(1, ledger.dropped());
        assertFalse(ledger.consume(0, key("k0"), 150, 160), "the oldest was dropped: its DEL is published");
        assertTrue(ledger.consume(0, key("k1"), 150, 160));
    }

    @Test
    void theDbComesFromTheKeyeventChannel() {
        assertEquals(0, EvictionWatch.dbOf("__keyevent@0__:evicted"));
        assertEquals(15, EvictionWatch.dbOf("__keyevent@15__:evicted"));
        assertNull(EvictionWatch.dbOf("something else"));
    }
}
