package io.ferry.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CheckpointPartitionTest {

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void namesThePeerPartitionOfACheckpointKey() {
        assertEquals(Optional.of(Map.entry("a", 0)), ReplicationPolicy.checkpointPartition(ReplicationPolicy.checkpointKey("a", 0)));
        assertEquals(Optional.of(Map.entry("eu-1", 12)),
                ReplicationPolicy.checkpointPartition(ReplicationPolicy.checkpointKey("eu-1", 12)));
    }

    @Test
    void idsWithDashesAndUnderscoresKeepTheirWholeName() {
        assertEquals(Optional.of(Map.entry("us_east-2", 3)),
                ReplicationPolicy.checkpointPartition(ReplicationPolicy.checkpointKey("us_east-2", 3)));
        assertEquals(Optional.of(Map.entry("a-1_b", 0)), ReplicationPolicy.checkpointPartition(utf8("__ferry:ckpt:a-1_b:0")));
    }

    @Test
    void agreesWithCheckpointOriginOnEveryCheckpointKey() {
        for (String id : new String[] {"a", "eu-1", "x_y", "0"}) {
            byte[] key = ReplicationPolicy.checkpointKey(id, 7);
            assertEquals(ReplicationPolicy.checkpointOrigin(key), ReplicationPolicy.checkpointPartition(key).map(Map.Entry::getKey));
        }
    }

    @Test
    void userKeysAreNotCheckpoints() {
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("user:1")));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("ckpt:a:0")));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(new byte[0]));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(null));
    }

    @Test
    void reservedKeysOtherThanCheckpointsAreNotCheckpoints() {
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("__ferry:lock:a:0")));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("__ferry:")));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("__ferry:ckpt")));
    }

    @Test
    void aCheckpointKeyWithoutOriginOrPartitionIsNotACheckpoint() {
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("__ferry:ckpt:")));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("__ferry:ckpt:a")));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("__ferry:ckpt::0")));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("__ferry:ckpt:a:")));
    }

    @Test
    void aNonNumericPartitionIsNotACheckpoint() {
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("__ferry:ckpt:a:zero")));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("__ferry:ckpt:a:0x1")));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("__ferry:ckpt:a:99999999999")));
    }

    @Test
    void aPerSlotCheckpointNamesTheSamePeerPartitionAsTheWholeInstanceOne() {
        byte[] key = ReplicationPolicy.slotCheckpointKey("eu-1", 2, "a7");
        assertEquals("__ferry:ckpt:{a7}:eu-1:2", new String(key, StandardCharsets.UTF_8));
        assertEquals(Optional.of(Map.entry("eu-1", 2)), ReplicationPolicy.checkpointPartition(key));
        assertEquals(Optional.of("eu-1"), ReplicationPolicy.checkpointOrigin(key));
        assertEquals(true, ReplicationPolicy.isReservedKey(key));
    }

    @Test
    void aBrokenSlotTagIsNotACheckpoint() {
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("__ferry:ckpt:{}:a:0")));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointPartition(utf8("__ferry:ckpt:{a7:a:0")));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointOrigin(utf8("__ferry:ckpt:{a7}:")));
    }

    @Test
    void aSlotTagIsLettersAndDigits() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ReplicationPolicy.slotCheckpointKey("a", 0, "x}"));
    }
}
