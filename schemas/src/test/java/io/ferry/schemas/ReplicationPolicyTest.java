package io.ferry.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ReplicationPolicyTest {

    @Test
    void namesTopicsPerInstance() {
        assertEquals("ferry.eu-1.changes", ReplicationPolicy.changesTopic("eu-1"));
        assertEquals("ferry.eu-1.offsets", ReplicationPolicy.offsetsTopic("eu-1"));
        assertEquals("ferry.eu-1.deadletters", ReplicationPolicy.deadLetterTopic("eu-1"));
    }

    @Test
    void aRepairTimeKeyCarriesItsSlotsHashTagAndIsReservedButNoCheckpoint() {
        byte[] key = ReplicationPolicy.repairTimeKey("a7");
        assertEquals("__ferry:repair-time:{a7}", new String(key, StandardCharsets.UTF_8));
        assertTrue(ReplicationPolicy.isReservedKey(key), "never replicated as a user key");
        assertTrue(ReplicationPolicy.isRepairTimeKey(key));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointOrigin(key));
        assertThrows(IllegalArgumentException.class, () -> ReplicationPolicy.repairTimeKey("a}"));
        assertThrows(IllegalArgumentException.class, () -> ReplicationPolicy.repairTimeKey(""));
    }

    @Test
    void aRepublicationHasItsOwnTimeKeyPerSlotDistinctFromTheRepairs() {
        byte[] key = ReplicationPolicy.sourceTimeKey("a7", true);
        assertEquals("__ferry:republish-time:{a7}", new String(key, StandardCharsets.UTF_8));
        assertTrue(ReplicationPolicy.isRepublishTimeKey(key));
        assertFalse(ReplicationPolicy.isRepairTimeKey(key));
        assertTrue(ReplicationPolicy.isReservedKey(key));
        assertArrayEquals(ReplicationPolicy.repairTimeKey("a7"), ReplicationPolicy.sourceTimeKey("a7", false));
        assertFalse(ReplicationPolicy.isRepublishTimeKey(ReplicationPolicy.repairTimeKey("a7")));
        assertFalse(ReplicationPolicy.isRepublishTimeKey("__ferry:republish-time:{a}b}".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void recognisesEveryRepairTimeKeyAndTheOneOfEarlierReleasesOnly() {
        for (String key : new String[] {"__ferry:repair-time", "__ferry:repair-time:{0}", "__ferry:repair-time:{zz9}"}) {
            assertTrue(ReplicationPolicy.isRepairTimeKey(key.getBytes(StandardCharsets.UTF_8)), key);
        }
        for (String key : new String[] {"__ferry:repair-time:", "__ferry:repair-time:{}", "__ferry:repair-time:{a}b",
                "__ferry:repair-time:{a-b}", "__ferry:repair-times", "__ferry:ckpt:{a7}:eu-1:0", "repair-time:{a7}", "user"}) {
            assertFalse(ReplicationPolicy.isRepairTimeKey(key.getBytes(StandardCharsets.UTF_8)), key);
        }
        assertFalse(ReplicationPolicy.isRepairTimeKey(null));
    }

    @Test
    void recognisesCheckpointKeysAsEchoesOfTheirOrigin() {
        byte[] key = ReplicationPolicy.checkpointKey("us-east", 2);
        assertTrue(ReplicationPolicy.isReservedKey(key));
        assertEquals(Optional.of("us-east"), ReplicationPolicy.checkpointOrigin(key));
        assertEquals(Optional.empty(), ReplicationPolicy.checkpointOrigin("user:1".getBytes(StandardCharsets.UTF_8)));
        assertFalse(ReplicationPolicy.isReservedKey("__ferry".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void namesOneTransactionalIdPerCaptureLaneUnderTheInstancePrefix() {
        // lane 0 keeps the id captures used before lanes, so a new capture fences an old one
        assertEquals("ferry-capture-eu-1-0", ReplicationPolicy.captureTransactionalId("eu-1", 0, 0));
        assertEquals("ferry-capture-eu-1-0.1", ReplicationPolicy.captureTransactionalId("eu-1", 0, 1));
        assertThrows(IllegalArgumentException.class, () -> ReplicationPolicy.captureTransactionalId("eu-1", 0, ReplicationPolicy.CAPTURE_LANES));
        // instance "eu" shard 1 and instance "eu-1" never share an id
        assertFalse(ReplicationPolicy.captureTransactionalId("eu", 1, 1).equals(ReplicationPolicy.captureTransactionalId("eu-1", 0, 0)));
    }

    @Test
    void rejectsInstanceIdsThatCannotBeTopicNames() {
        assertThrows(IllegalArgumentException.class, () -> ReplicationPolicy.changesTopic("a b"));
        assertThrows(IllegalArgumentException.class, () -> ReplicationPolicy.changesTopic(""));
    }

    @Test
    void checkpointPatternsMatchTheWholePartitionsAndEverySlotsCheckpointsOfOneOriginOnly() {
        List<String> patterns = ReplicationPolicy.checkpointPatterns("b").stream()
                .map(p -> new String(p, java.nio.charset.StandardCharsets.UTF_8)).toList();
        java.util.function.Predicate<byte[]> matched = key -> patterns.stream().anyMatch(p -> java.nio.file.FileSystems.getDefault()
                .getPathMatcher("glob:" + p.replace("{", "\\{").replace("}", "\\}"))
                .matches(java.nio.file.Path.of(new String(key, java.nio.charset.StandardCharsets.UTF_8))));
        assertTrue(matched.test(ReplicationPolicy.checkpointKey("b", 3)));
        assertTrue(matched.test(ReplicationPolicy.slotCheckpointKey("b", 3, "a1")));
        assertFalse(matched.test(ReplicationPolicy.checkpointKey("bb", 3)));
        assertFalse(matched.test(ReplicationPolicy.slotCheckpointKey("bb", 3, "a1")));
    }
}
