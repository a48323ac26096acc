package io.ferry.apply.batch;

import io.ferry.apply.redis.RedisTargetClient;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.ReplicationPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Reads, once per partition state (that is, after every start, rebalance or lost connection), the per-slot
 * checkpoints of a Redis Cluster target (or of a standalone one that {@code ferry join} seeded from a
 * cluster peer). Only slots ahead of the whole-instance checkpoint matter: the partition resumes there, and
 * what a slot had applied beyond it is skipped for that slot alone. Later
 * batches are all beyond every slot's checkpoint read here, so nothing needs updating while it runs.
 */
public final class AppliedSlotsReader implements SlotSplitter.AppliedSlots {

    private final RedisTargetClient redis;
    /** Per state: the slots' checkpoints, or an empty array when none is ahead of the state's checkpoint. */
    private final Map<PartitionState, long[]> read = new WeakHashMap<>();

    public AppliedSlotsReader(RedisTargetClient redis) {
        this.redis = redis;
    }

    @Override
    public long of(PartitionState state, int slot) {
        long[] slots = read.computeIfAbsent(state, this::load);
        return slots.length == 0 ? -1 : slots[slot];
    }

    @Override
    public boolean anyAhead(PartitionState state) {
        return read.computeIfAbsent(state, this::load).length > 0;
    }

    private long[] load(PartitionState state) {
        List<byte[]> keys = new ArrayList<>(HashSlot.COUNT);
        for (int slot = 0; slot < HashSlot.COUNT; slot++) {
            keys.add(ReplicationPolicy.slotCheckpointKey(state.peer(), state.partition().partition(), HashSlot.tag(slot)));
        }
        List<Long> values = redis.readCheckpoints(keys);
        long[] slots = new long[HashSlot.COUNT];
        boolean ahead = false;
        for (int slot = 0; slot < HashSlot.COUNT; slot++) {
            Long value = values.get(slot);
            slots[slot] = value == null ? -1 : value;
            ahead |= slots[slot] > state.checkpoint();
        }
        return ahead ? slots : new long[0];
    }
}
