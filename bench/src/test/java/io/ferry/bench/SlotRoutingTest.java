package io.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.resp.cluster.HashSlot;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class SlotRoutingTest {

    /** Slots split evenly, as RedisClusterServers assigns them. */
    private static SlotRouting evenly(int shards) {
        return SlotRouting.cluster(shards, slot -> slot * shards / HashSlot.COUNT);
    }

    private static byte[] key(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void aStandaloneSourceIsOneShardWithThePlainMarker() {
        SlotRouting routing = SlotRouting.standalone();
        assertEquals(1, routing.shards());
        assertEquals(0, routing.shardOf(key("k:123")));
        assertEquals(LoadGenerator.MARKER_KEY, new String(routing.markerKeys().get(0), StandardCharsets.US_ASCII));
    }

    @Test
    void routesEachKeyToTheMasterOfItsSlot() {
        SlotRouting routing = evenly(3);
        for (int i = 0; i < 1000; i++) {
            byte[] k = key("k:" + i);
            assertEquals(HashSlot.of(k) * 3 / HashSlot.COUNT, routing.shardOf(k));
        }
    }

    @Test
    void spreadsSequentialKeysOverEveryShard() {
        SlotRouting routing = evenly(3);
        int[] counts = new int[3];
        for (int i = 0; i < 30_000; i++) {
            counts[routing.shardOf(key("k:" + i))]++;
        }
        for (int count : counts) {
            assertTrue(count > 8_000 && count < 12_000, "each shard gets about a third: " + java.util.Arrays.toString(counts));
        }
    }

    @Test
    void eachShardsMarkerLivesOnThatShard() {
        SlotRouting routing = evenly(3);
        List<byte[]> markers = routing.markerKeys();
        assertEquals(3, markers.size());
        for (int shard = 0; shard < 3; shard++) {
            assertEquals(shard, routing.shardOf(markers.get(shard)));
            assertTrue(new String(markers.get(shard), StandardCharsets.US_ASCII).startsWith(LoadGenerator.MARKER_KEY + ":{"));
        }
    }

    @Test
    void aOneMasterClusterIsOneShardWithATaggedMarker() {
        SlotRouting routing = SlotRouting.cluster(1, slot -> 0);
        assertEquals(1, routing.shards());
        assertEquals(0, routing.shardOf(key("anything")));
    }

    @Test
    void refusesAMapWithAnUnservedSlotOrAnIdleMaster() {
        assertThrows(IllegalArgumentException.class, () -> SlotRouting.cluster(2, slot -> slot == 5 ? -1 : 0));
        assertThrows(IllegalArgumentException.class, () -> SlotRouting.cluster(2, slot -> 0));
    }
}
