package io.ferry.bench;

import io.ferry.resp.cluster.HashSlot;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * Which source shard each write goes to, and each shard's progress marker key. A standalone source is
 * one shard whose marker is {@link LoadGenerator#MARKER_KEY}; on a Redis Cluster a key goes to the
 * master of its slot, and every shard gets its own marker {@code bench:seq:{tag}} in one of its slots.
 * Ferry keeps each shard's order (one partition per shard) but not the order across shards, so the
 * target has seen everything before n once every shard's marker shows n.
 */
final class SlotRouting {

    private final int[] shardBySlot;
    private final List<byte[]> markerKeys;

    private SlotRouting(int[] shardBySlot, List<byte[]> markerKeys) {
        this.shardBySlot = shardBySlot;
        this.markerKeys = List.copyOf(markerKeys);
    }

    /** One standalone Redis: every write on one connection, the marker {@code bench:seq}. */
    static SlotRouting standalone() {
        return new SlotRouting(null, List.of(LoadGenerator.MARKER_KEY.getBytes(StandardCharsets.US_ASCII)));
    }

    /**
     * A cluster of {@code shards} masters; {@code shardOfSlot} gives the master (0..shards-1) serving each
     * slot. Every slot must be served and every shard serve a slot.
     */
    static SlotRouting cluster(int shards, IntUnaryOperator shardOfSlot) {
        int[] bySlot = new int[HashSlot.COUNT];
        int[] firstSlot = new int[shards];
        java.util.Arrays.fill(firstSlot, -1);
        for (int slot = 0; slot < HashSlot.COUNT; slot++) {
            int shard = shardOfSlot.applyAsInt(slot);
            if (shard < 0 || shard >= shards) {
                throw new IllegalArgumentException("slot " + slot + " is served by no master of the " + shards + " given");
            }
            bySlot[slot] = shard;
            if (firstSlot[shard] < 0) {
                firstSlot[shard] = slot;
            }
        }
        List<byte[]> markers = new ArrayList<>();
        for (int shard = 0; shard < shards; shard++) {
            if (firstSlot[shard] < 0) {
                throw new IllegalArgumentException("master " + shard + " serves no slot");
            }
            markers.add((LoadGenerator.MARKER_KEY + ":{" + HashSlot.tag(firstSlot[shard]) + "}").getBytes(StandardCharsets.US_ASCII));
        }
        return new SlotRouting(bySlot, markers);
    }

    int shards() {
        return markerKeys.size();
    }

    /** The shard whose master serves {@code key}. */
    int shardOf(byte[] key) {
        return shardBySlot == null ? 0 : shardBySlot[HashSlot.of(key)];
    }

    /** The progress marker of each shard, in shard order. */
    List<byte[]> markerKeys() {
        return markerKeys;
    }
}
