package io.ferry.capture.wipe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.capture.position.SourceInfo;
import org.junit.jupiter.api.Test;

class SourceKeysTest {

    private static SourceInfo reading(String replid, long keys) {
        return new SourceInfo(replid, "0000", 100, 1 << 20, keys);
    }

    @Test
    void aPositionCarriesTheLatestReadingOfItsHistoryLessTheCheckpointKeys() {
        SourceKeys keys = new SourceKeys();
        assertEquals(-1, keys.forPosition("r1", 2), "nothing read yet");
        keys.sample(reading("r1", 1002));
        assertEquals(1000, keys.forPosition("r1", 2));
        assertEquals(1000, keys.known("r1"));
    }

    @Test
    void readingsOfANewHistoryLeaveWhatWasKnownOfTheOldOneAlone() {
        SourceKeys keys = new SourceKeys();
        keys.sample(reading("r1", 500));
        keys.forPosition("r1", 0);
        keys.sample(reading("r2", 0)); // the source restarted empty; the capture still stands on r1
        assertEquals(500, keys.forPosition("r1", 0));
        assertEquals(500, keys.known("r1"));
        assertEquals(-1, keys.known("r2"));
    }

    @Test
    void aRestoredCountAndACopysCountAreKnownPerHistory() {
        SourceKeys keys = new SourceKeys();
        keys.restore("r1", 42);
        keys.restore("r0", -1);
        assertEquals(42, keys.known("r1"));
        assertEquals(-1, keys.known("r0"));
        keys.copied("r2", 7);
        assertEquals(7, keys.forPosition("r2", 1));
    }
}
