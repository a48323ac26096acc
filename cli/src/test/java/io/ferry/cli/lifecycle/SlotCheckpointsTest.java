package io.ferry.cli.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ferry.apply.redis.RawCommand;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class SlotCheckpointsTest {

    private static BitSet slots(int from, int to) {
        BitSet slots = new BitSet(HashSlot.COUNT);
        slots.set(from, to);
        return slots;
    }

    private static Map<String, String> sets(List<RawCommand> writes) {
        Map<String, String> sets = new TreeMap<>();
        for (RawCommand write : writes) {
            sets.put(new String(write.firstArg(), StandardCharsets.UTF_8), new String(write.args().get(1), StandardCharsets.US_ASCII));
        }
        return sets;
    }

    @Test
    void aStandalonePeersWholeCheckpointHoldsForEverySlotAndNeedsNoSlotKeys() {
        SlotCheckpoints checkpoints = new SlotCheckpoints();
        checkpoints.addCopy(slots(0, HashSlot.COUNT), Map.of("x:0", 41L), Map.of(), Map.of("x:0", 30L));
        assertEquals(41, checkpoints.floor("x:0"));
        assertEquals(Map.of("__ferry:ckpt:x:0", "41"), sets(checkpoints.writes(false)));
        assertEquals(HashSlot.COUNT + 1, checkpoints.writes(true).size(), "a cluster target gets every slot's own");
    }

    @Test
    void shardsCopiedAtDifferentMomentsGiveEachSlotItsOwnOffsetAndTheLowestAsWholeCheckpoint() {
        SlotCheckpoints checkpoints = new SlotCheckpoints();
        // read live before the copies: 20. Shard 1 (copied first) holds the whole key at 25 and slot 7 at 28;
        // shard 2 (copied later) has slot 9000 at 40; its other slots stand at 20, not at shard 1's 25.
        checkpoints.addCopy(slots(0, 8192), Map.of("x:0", 25L), Map.of("x:0", Map.of(7, 28L)), Map.of("x:0", 20L));
        checkpoints.addCopy(slots(8192, HashSlot.COUNT), Map.of(), Map.of("x:0", Map.of(9000, 40L)), Map.of("x:0", 20L));
        assertEquals(20, checkpoints.floor("x:0"));
        assertEquals(40, checkpoints.ceiling("x:0"));
        Map<String, String> standalone = sets(checkpoints.writes(false));
        assertEquals("20", standalone.get("__ferry:ckpt:x:0"));
        assertEquals("28", standalone.get(key("x", 7)));
        assertEquals("25", standalone.get(key("x", 8)));
        assertEquals("40", standalone.get(key("x", 9000)));
        assertEquals(8192 + 1 + 1, standalone.size(), "shard 1's slots above the floor, slot 9000 and the whole key");
        assertEquals(Map.of("x:0", 20L), checkpoints.wholes());
    }

    @Test
    void aSlotThatAppliedNothingLeavesNoWholeCheckpoint() {
        SlotCheckpoints checkpoints = new SlotCheckpoints();
        checkpoints.addCopy(slots(0, 100), Map.of(), Map.of("x:0", Map.of(5, 3L)), Map.of());
        checkpoints.addCopy(slots(100, HashSlot.COUNT), Map.of(), Map.of(), Map.of());
        assertEquals(-1, checkpoints.floor("x:0"));
        assertEquals(Map.of(key("x", 5), "3"), sets(checkpoints.writes(false)));
        assertEquals(Map.of(), checkpoints.wholes());
    }

    @Test
    void thePeersOwnPartitionsStandAtOnePointInEverySlot() {
        SlotCheckpoints checkpoints = new SlotCheckpoints();
        checkpoints.setAll("p:2", 77);
        assertEquals(Map.of("__ferry:ckpt:p:2", "77"), sets(checkpoints.writes(false)));
        assertEquals(77, checkpoints.floor("p:2"));
    }

    @Test
    void overlappingCopiesAreABug() {
        SlotCheckpoints checkpoints = new SlotCheckpoints();
        checkpoints.addCopy(slots(0, 10), Map.of(), Map.of(), Map.of());
        assertThrows(IllegalArgumentException.class, () -> checkpoints.addCopy(slots(5, 20), Map.of(), Map.of(), Map.of()));
        assertEquals(HashSlot.COUNT - 10, checkpoints.uncopiedSlots());
    }

    private static String key(String origin, int slot) {
        return new String(ReplicationPolicy.slotCheckpointKey(origin, 0, HashSlot.tag(slot)), StandardCharsets.UTF_8);
    }
}
