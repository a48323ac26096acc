package io.ferry.capture.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SlotMigrationsTest {

    @Test
    void readsTheSlotsTheAnsweringNodeServesAndThoseItIsMigratingAway() {
        String nodes = """
                67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 myself,master - 0 0 2 connected 5461-10922 12000 [5461->-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f] [12001-<-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]
                292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 0-5460 10923-11999 12001-16383
                """;
        SlotMigrations.Sample sample = SlotMigrations.parseMyself(1, 42, nodes);
        assertEquals(10922 - 5461 + 1 + 1, sample.served().cardinality());
        assertTrue(sample.served().get(12000));
        assertFalse(sample.served().get(0), "another master's slots are not this node's");
        assertTrue(sample.migrating().get(5461));
        assertEquals(1, sample.migrating().cardinality(), "a slot being imported is not being migrated away");
        assertTrue(sample.covers(42));
        assertFalse(sample.covers(43));
    }
}
