package io.ferry.cli.lifecycle;

import io.ferry.apply.redis.RawCommand;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Where the peer's copy stands in every partition it applies, per hash slot: the joined instance's
 * checkpoints. Pure.
 *
 * <p>A peer that is a Redis Cluster is copied shard by shard, each at its own moment, and its apply agent
 * keeps a checkpoint per slot ({@link ReplicationPolicy#slotCheckpointKey}, written with the slot's keys)
 * plus a whole-partition one that every slot has reached. A slot of a shard's copy has applied exactly
 * {@code max(whole, its own)} of a partition when {@code whole} was valid at that copy's moment: the whole
 * checkpoint read live before any copy began (it only grows) is valid for every copy; the one inside a
 * shard's copy only for that copy's slots (another shard's copy may be older). A standalone peer is one
 * copy of every slot, whose whole checkpoint says it all.
 *
 * <p>The joined instance gets, per partition, the lowest slot's offset as its whole checkpoint and every slot
 * above that as a per-slot checkpoint, which its apply agent honours on a cluster and on a standalone
 * target alike (a write's part in a slot is skipped up to that slot's checkpoint).
 */
final class SlotCheckpoints {

    /** Peer partition ({@link AppliedVector#entry}) → offset applied per slot, -1 for nothing. */
    private final Map<String, long[]> slots = new TreeMap<>();
    private final BitSet copied = new BitSet(HashSlot.COUNT);

    /**
     * One copy of the peer (a shard of a cluster, or a standalone server as one shard of every slot).
     *
     * @param shardSlots the slots the copied node served
     * @param whole      the copy's whole-partition checkpoints
     * @param perSlot    the copy's per-slot checkpoints (partition → slot → offset)
     * @param before     whole-partition checkpoints read from the peer before any copy was taken
     */
    void addCopy(BitSet shardSlots, Map<String, Long> whole, Map<String, Map<Integer, Long>> perSlot, Map<String, Long> before) {
        if (copied.intersects(shardSlots)) {
            throw new IllegalArgumentException("two copies of the peer serve the same slot");
        }
        copied.or(shardSlots);
        Set<String> entries = new TreeSet<>(whole.keySet());
        entries.addAll(perSlot.keySet());
        entries.addAll(before.keySet());
        for (String entry : entries) {
            long floor = Math.max(whole.getOrDefault(entry, -1L), before.getOrDefault(entry, -1L));
            Map<Integer, Long> own = perSlot.getOrDefault(entry, Map.of());
            long[] applied = slots.computeIfAbsent(entry, e -> unknown());
            for (int slot = shardSlots.nextSetBit(0); slot >= 0; slot = shardSlots.nextSetBit(slot + 1)) {
                applied[slot] = Math.max(floor, own.getOrDefault(slot, -1L));
            }
        }
    }

    /** Every slot of {@code entry} stands at {@code offset} (a partition the copy is at one point of). */
    void setAll(String entry, long offset) {
        long[] applied = unknown();
        Arrays.fill(applied, offset);
        slots.put(entry, applied);
    }

    /** The slots none of the copies served (a cluster peer with unserved slots). */
    int uncopiedSlots() {
        return HashSlot.COUNT - copied.cardinality();
    }

    /** The partitions with an offset in some slot. */
    Set<String> entries() {
        Set<String> known = new TreeSet<>();
        slots.forEach((entry, applied) -> {
            if (Arrays.stream(applied).anyMatch(offset -> offset >= 0)) {
                known.add(entry);
            }
        });
        return known;
    }

    /** The offset every slot of {@code entry} has applied, -1 when some slot has applied nothing. */
    long floor(String entry) {
        long[] applied = slots.get(entry);
        return applied == null ? -1 : Arrays.stream(applied).min().orElse(-1);
    }

    /** The lowest and highest offset of any slot of {@code entry}, for the report. */
    long ceiling(String entry) {
        long[] applied = slots.get(entry);
        return applied == null ? -1 : Arrays.stream(applied).max().orElse(-1);
    }

    /** Every partition's whole checkpoint: the joined capture's applied vector. */
    Map<String, Long> wholes() {
        Map<String, Long> wholes = new TreeMap<>();
        for (String entry : entries()) {
            long floor = floor(entry);
            if (floor >= 0) {
                wholes.put(entry, floor);
            }
        }
        return wholes;
    }

    /**
     * The SETs that give the joined instance these checkpoints: each partition's whole checkpoint, and a
     * per-slot one for every slot above it ({@code everySlot}: for every slot with an offset, as a cluster
     * target's own apply agent keeps them).
     */
    List<RawCommand> writes(boolean everySlot) {
        List<RawCommand> sets = new ArrayList<>();
        for (String entry : entries()) {
            int colon = entry.lastIndexOf(':');
            String origin = entry.substring(0, colon);
            int partition = Integer.parseInt(entry.substring(colon + 1));
            long floor = floor(entry);
            if (floor >= 0) {
                sets.add(set(ReplicationPolicy.checkpointKey(origin, partition), floor));
            }
            long[] applied = slots.get(entry);
            for (int slot = 0; slot < HashSlot.COUNT; slot++) {
                if (applied[slot] >= 0 && (applied[slot] > floor || everySlot)) {
                    sets.add(set(ReplicationPolicy.slotCheckpointKey(origin, partition, HashSlot.tag(slot)), applied[slot]));
                }
            }
        }
        return sets;
    }

    private static RawCommand set(byte[] key, long offset) {
        return RawCommand.of("SET", key, Long.toString(offset).getBytes(StandardCharsets.US_ASCII));
    }

    private static long[] unknown() {
        long[] applied = new long[HashSlot.COUNT];
        Arrays.fill(applied, -1);
        return applied;
    }
}
