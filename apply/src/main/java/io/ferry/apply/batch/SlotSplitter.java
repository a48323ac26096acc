package io.ferry.apply.batch;

import io.ferry.apply.deadletter.Rejection;
import io.ferry.apply.redis.CommandKeys;
import io.ferry.apply.redis.RawCommand;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * Turns one partition's batch into single-slot batches for a Redis Cluster target. Each slot's batch ends
 * with that slot's own checkpoint ({@link ReplicationPolicy#slotCheckpointKey}), so every slot is applied
 * exactly once on its own: after a restart a slot skips what its checkpoint covers. A last, separate
 * transaction moves the partition's whole-instance checkpoint (where a restart resumes) to what every slot
 * had applied before this batch: batches of one partition run one after the other, so the previous
 * batch is then committed on every slot.
 *
 * <p>Keys of one write in several slots: DEL, UNLINK, TOUCH and MSET are split per slot (each part is
 * still a correct write); a block of independent commands is split per slot (its atomicity across slots
 * is lost). Anything else that spans slots (RENAME, SMOVE, LMOVE, SUNIONSTORE, MSETNX, a script over keys
 * in several slots…, reason CROSS_SLOT), a write without a key (CLUSTER_NO_KEY: FLUSHALL when a policy replicates
 * it) and writes to a db other than 0 (CLUSTER_DB) are dead-lettered with the reason.
 */
public final class SlotSplitter {

    /** What one slot of the target has applied of a partition, as its checkpoint says. */
    @FunctionalInterface
    public interface AppliedSlots {
        /** Last offset of {@code state}'s partition applied to {@code slot}; -1 when none. */
        long of(PartitionState state, int slot);

        /** Whether any slot has applied more of {@code state}'s partition than its whole-instance checkpoint says. */
        default boolean anyAhead(PartitionState state) {
            return true;
        }
    }

    private static final Set<String> SPLIT_BY_KEY = Set.of("DEL", "UNLINK", "TOUCH");

    private final AppliedSlots applied;
    /** Whole-instance checkpoint last written per partition state, so an unchanged one is not written again. */
    private final Map<PartitionState, Long> floorWritten = new WeakHashMap<>();

    public SlotSplitter(AppliedSlots applied) {
        this.applied = applied;
    }

    /** One part of a write: the command a single slot runs. */
    record Part(int slot, RawCommand command) {
    }

    /**
     * For a standalone target: the batch, one transaction as before, without the parts of writes a slot's
     * own checkpoint already covers. A standalone target holds per-slot checkpoints only when
     * {@code ferry join} seeded it from a Redis Cluster peer, whose shards were copied at different moments;
     * once the whole-instance checkpoint has passed them (the first batch after the join), nothing is left out.
     * A write that cannot be split per slot (keys in several slots, no key) is kept.
     */
    public EventBatch withoutApplied(EventBatch batch) {
        PartitionState state = batch.partition();
        if (!applied.anyAhead(state)) {
            return batch;
        }
        List<RawCommand> body = new ArrayList<>();
        List<EventBatch.Source> kept = new ArrayList<>();
        List<Long> keptOffsets = new ArrayList<>();
        Map<Integer, Integer> lines = new java.util.HashMap<>();
        int db = 0;
        long offset = -1;
        for (int i = 0; i < batch.body().size(); i++) {
            RawCommand command = batch.body().get(i);
            EventBatch.Source source = batch.source(i);
            if (source != null) {
                offset = source.kafkaOffset();
            }
            if (source == null && command.name().equals("SELECT")) {
                db = Integer.parseInt(new String(command.firstArg(), StandardCharsets.US_ASCII));
            }
            List<RawCommand> commands = List.of(command);
            if (db == 0 && offset >= 0 && !(source == null && command.name().equals("SELECT"))
                    && !(source == null && Arrays.equals(command.firstArg(), state.checkpointKey()))) {
                commands = notYetApplied(state, offset, command);
            }
            if (commands.size() == 1 && commands.get(0) == command) {
                lines.put(i, body.size());
            }
            for (RawCommand part : commands) {
                body.add(part);
                kept.add(source);
                keptOffsets.add(batch.offsetOf(i));
            }
        }
        if (body.size() == batch.body().size() && lines.size() == body.size()) {
            return batch;
        }
        List<EventBatch.Overwrite> overwrites = new ArrayList<>();
        for (EventBatch.Overwrite overwrite : batch.overwrites()) {
            Integer line = lines.get(overwrite.line());
            if (line != null) {
                overwrites.add(new EventBatch.Overwrite(line, overwrite.db(), overwrite.keys(), overwrite.whenKept(),
                        overwrite.whenAddedOnly()));
            }
        }
        return new EventBatch(state, body, kept, toArray(keptOffsets), batch.events(), batch.rejections(), overwrites,
                batch.checkpointOffset(), batch.records());
    }

    /** {@code command} itself, the parts of it whose slots have not applied {@code offset} yet, or nothing. */
    private List<RawCommand> notYetApplied(PartitionState state, long offset, RawCommand command) {
        if (CommandKeys.of(command).stream().anyMatch(ReplicationPolicy::isReservedKey)) {
            return List.of(command); // Ferry's own bookkeeping of the batch
        }
        List<Part> parts;
        try {
            parts = parts(command);
        } catch (IllegalArgumentException unsplittable) {
            return List.of(command);
        }
        List<RawCommand> due = new ArrayList<>(parts.size());
        for (Part part : parts) {
            if (offset > applied.of(state, part.slot())) {
                due.add(part.command());
            }
        }
        return due.size() == parts.size() ? List.of(command) : due;
    }

    /**
     * One batch per slot, each with that slot's checkpoint, then the whole-instance checkpoint's own. A line that
     * overwrites on a resync's say-so stays an overwrite in its slot's batch (a DEL's part with the part's keys).
     */
    public List<EventBatch> split(EventBatch batch) {
        PartitionState state = batch.partition();
        Map<Integer, List<RawCommand>> bodies = new LinkedHashMap<>();
        Map<Integer, List<EventBatch.Source>> sources = new LinkedHashMap<>();
        Map<Integer, List<Long>> offsets = new LinkedHashMap<>();
        Map<Integer, List<EventBatch.Overwrite>> overwrites = new LinkedHashMap<>();
        Map<Integer, EventBatch.Overwrite> overwriteByLine = new java.util.HashMap<>();
        batch.overwrites().forEach(overwrite -> overwriteByLine.put(overwrite.line(), overwrite));
        List<Rejection> rejections = new ArrayList<>(batch.rejections());
        int db = 0;
        List<RawCommand> body = batch.body();
        for (int i = 0; i < body.size(); i++) {
            RawCommand command = body.get(i);
            EventBatch.Source source = batch.source(i);
            if (source == null && command.name().equals("SELECT")) {
                db = Integer.parseInt(new String(command.firstArg(), StandardCharsets.US_ASCII));
                continue;
            }
            if (source == null && command.name().equals("SET") && Arrays.equals(command.firstArg(), state.checkpointKey())) {
                continue; // replaced by the slots' checkpoints
            }
            long offset = batch.offsetOf(i); // the line's record, also for Ferry's own lines (a stage write, a resync's set)
            if (db != 0) {
                if (source != null) {
                    rejections.add(new Rejection(offset, "CLUSTER_DB", "Redis Cluster has only db 0; this write to db " + db
                            + " is not applied", source.event(), source.command(), null));
                }
                continue;
            }
            List<Part> parts;
            try {
                parts = parts(command);
            } catch (IllegalArgumentException refused) {
                if (source != null) {
                    String reason = CommandKeys.of(command).isEmpty() ? "CLUSTER_NO_KEY" : "CROSS_SLOT";
                    rejections.add(new Rejection(offset, reason, refused.getMessage(), source.event(), source.command(), null));
                }
                continue;
            }
            EventBatch.Overwrite overwrite = overwriteByLine.get(i);
            for (Part part : parts) {
                if (offset <= applied.of(state, part.slot())) {
                    continue; // this slot committed it before a restart: never twice
                }
                List<RawCommand> slotBody = bodies.computeIfAbsent(part.slot(), s -> new ArrayList<>());
                if (overwrite != null) {
                    overwrites.computeIfAbsent(part.slot(), s -> new ArrayList<>()).add(overwrite.isDeletion()
                            ? EventBatch.Overwrite.deletion(slotBody.size(), 0, CommandKeys.of(part.command()))
                            : new EventBatch.Overwrite(slotBody.size(), 0, overwrite.keys(), overwrite.whenKept(), overwrite.whenAddedOnly()));
                }
                slotBody.add(part.command());
                sources.computeIfAbsent(part.slot(), s -> new ArrayList<>()).add(source);
                offsets.computeIfAbsent(part.slot(), s -> new ArrayList<>()).add(offset);
            }
        }
        byte[] checkpoint = Long.toString(batch.checkpointOffset()).getBytes(StandardCharsets.US_ASCII);
        List<EventBatch> split = new ArrayList<>();
        for (Map.Entry<Integer, List<RawCommand>> slot : bodies.entrySet()) {
            List<RawCommand> slotBody = slot.getValue();
            List<EventBatch.Source> slotSources = sources.get(slot.getKey());
            List<Long> slotOffsets = offsets.get(slot.getKey());
            slotBody.add(new RawCommand("SET", List.of(ReplicationPolicy.slotCheckpointKey(state.peer(),
                    state.partition().partition(), HashSlot.tag(slot.getKey())), checkpoint)));
            slotSources.add(null);
            slotOffsets.add(batch.checkpointOffset());
            split.add(part(batch, split.isEmpty(), slotBody, slotSources, slotOffsets,
                    overwrites.getOrDefault(slot.getKey(), List.of()), rejections));
        }
        // With nothing for any slot, this batch is complete once the whole-instance checkpoint says so.
        long floor = split.isEmpty() ? batch.checkpointOffset() : state.checkpoint();
        Long written = floorWritten.get(state);
        if (floor >= 0 && (written == null || written < floor)) {
            List<RawCommand> floorBody = new ArrayList<>(List.of(new RawCommand("SET", List.of(state.checkpointKey(),
                    Long.toString(floor).getBytes(StandardCharsets.US_ASCII)))));
            List<EventBatch.Source> floorSources = new ArrayList<>();
            floorSources.add(null);
            split.add(part(batch, split.isEmpty(), floorBody, floorSources, List.of(floor), List.of(), rejections));
            floorWritten.put(state, floor);
        }
        if (split.isEmpty()) {
            split.add(part(batch, true, new ArrayList<>(), new ArrayList<>(), List.of(), List.of(), rejections));
        }
        return split;
    }

    /** A batch for one slot; the first of a split carries the events and rejections (counted once). */
    private static EventBatch part(EventBatch batch, boolean first, List<RawCommand> body, List<EventBatch.Source> sources,
                                   List<Long> offsets, List<EventBatch.Overwrite> overwrites, List<Rejection> rejections) {
        return new EventBatch(batch.partition(), body, sources, toArray(offsets), first ? batch.events() : List.of(),
                first ? rejections : List.of(), overwrites, batch.checkpointOffset(), first ? batch.records() : 0);
    }

    private static long[] toArray(List<Long> offsets) {
        return offsets.stream().mapToLong(Long::longValue).toArray();
    }

    /** {@code command} as single-slot parts; throws IllegalArgumentException with the reason when it cannot be split. */
    static List<Part> parts(RawCommand command) {
        List<byte[]> keys = CommandKeys.of(command);
        if (keys.isEmpty()) {
            throw new IllegalArgumentException(command.name() + " has no key, so no single Redis Cluster node can run it for the"
                    + " whole keyspace; not applied");
        }
        int first = HashSlot.of(keys.get(0));
        boolean oneSlot = true;
        for (byte[] key : keys) {
            oneSlot &= HashSlot.of(key) == first;
        }
        if (oneSlot) {
            return List.of(new Part(first, command));
        }
        String name = command.name().toUpperCase(Locale.ROOT);
        List<byte[]> args = command.args();
        if (SPLIT_BY_KEY.contains(name) || name.equals("MSET")) {
            int step = name.equals("MSET") ? 2 : 1;
            Map<Integer, List<byte[]>> bySlot = new LinkedHashMap<>();
            for (int i = 0; i + step - 1 < args.size(); i += step) {
                List<byte[]> slotArgs = bySlot.computeIfAbsent(HashSlot.of(args.get(i)), s -> new ArrayList<>());
                slotArgs.addAll(args.subList(i, i + step));
            }
            List<Part> parts = new ArrayList<>(bySlot.size());
            bySlot.forEach((slot, slotArgs) -> parts.add(new Part(slot, new RawCommand(command.name(), slotArgs))));
            return parts;
        }
        Set<Integer> slots = new java.util.TreeSet<>();
        keys.forEach(key -> slots.add(HashSlot.of(key)));
        throw new IllegalArgumentException(command.name() + " touches keys in " + slots.size() + " slots " + slots
                + " of the Redis Cluster target, and no cluster node can run it across slots; not applied (give such keys"
                + " one hash tag, e.g. {user1}:a and {user1}:b, so they share a slot)");
    }
}
