package io.ferry.apply.batch;

import io.ferry.apply.deadletter.Rejection;
import io.ferry.apply.redis.RawCommand;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The body of one MULTI/EXEC for one source partition: the peers' commands (with SELECTs where the db
 * changes), then {@code SELECT 0} and the checkpoint write. {@link #source(int)} tells which event and
 * command each body line came from; control lines (SELECT, checkpoint) have none.
 */
public final class EventBatch {

    /** Where one body command came from. */
    public record Source(ChangeEvent event, long kafkaOffset, Command command) {
    }

    /**
     * A body line that overwrites or deletes this instance's copies of {@code keys} in {@code db} on a resync
     * snapshot's say-so (RESTORE … REPLACE, DEL of keys the snapshot no longer has): the judgement that the
     * keys hold nothing the origin had not seen must still be true when the transaction runs. {@code whenKept}
     * replaces the line when its key must be kept after all (null: left out), {@code whenAddedOnly} when the
     * snapshot may only add missing keys (null: left out); a line over several keys (DEL) keeps the others.
     */
    /**
     * @param whenAddedOnly the line when the batch only adds missing keys (for a snapshot key, its RESTORE without REPLACE)
     * @param rebuilt       the line was made a rebuild of the key when the batch was judged (see {@code ResyncReconciler})
     */
    public record Overwrite(int line, int db, List<byte[]> keys, RawCommand whenKept, RawCommand whenAddedOnly, boolean rebuilt) {

        public Overwrite(int line, int db, List<byte[]> keys, RawCommand whenKept, RawCommand whenAddedOnly) {
            this(line, db, keys, whenKept, whenAddedOnly, false);
        }

        public Overwrite asRebuilt() {
            return new Overwrite(line, db, keys, whenKept, whenAddedOnly, true);
        }

        /** A DEL of {@code keys}: kept keys are left out of it, and nothing is deleted when only adding. */
        public static Overwrite deletion(int line, int db, List<byte[]> keys) {
            return new Overwrite(line, db, keys, null, null);
        }

        public boolean isDeletion() {
            return whenKept == null && whenAddedOnly == null;
        }
    }

    private final PartitionState partition;
    private final List<RawCommand> body;
    private final List<Source> sources;
    private final List<ChangeEvent> events;
    private final List<Rejection> rejections;
    private final List<Overwrite> overwrites;
    private final long[] lineOffsets;
    private final long checkpointOffset;
    private final int records;

    /** @param lineOffsets per body line, the Kafka offset of the record it was made for (the checkpoint's for its own lines) */
    EventBatch(PartitionState partition, List<RawCommand> body, List<Source> sources, long[] lineOffsets, List<ChangeEvent> events,
               List<Rejection> rejections, List<Overwrite> overwrites, long checkpointOffset, int records) {
        if (lineOffsets.length != body.size() || sources.size() != body.size()) {
            throw new IllegalArgumentException("a batch needs one source and one offset per body line");
        }
        this.partition = partition;
        this.body = body;
        this.sources = sources;
        this.lineOffsets = lineOffsets;
        this.events = events;
        this.rejections = rejections;
        this.overwrites = overwrites;
        this.checkpointOffset = checkpointOffset;
        this.records = records;
    }

    public PartitionState partition() {
        return partition;
    }

    public List<RawCommand> body() {
        return Collections.unmodifiableList(body);
    }

    /** The source of body line {@code index}, null for Ferry's own control lines. */
    public Source source(int index) {
        return sources.get(index);
    }

    /**
     * Kafka offset of the record body line {@code index} was made for, Ferry's own lines included (a chunk's stage
     * write, a resync's bookkeeping): on a cluster target, a slot skips the lines of records its checkpoint covers.
     */
    public long offsetOf(int index) {
        return lineOffsets[index];
    }

    /** Decoded events of this batch, heartbeats included, in offset order. */
    public List<ChangeEvent> events() {
        return events;
    }

    /** Records that could not even be turned into commands (undecodable, broken chunk sequences). */
    public List<Rejection> rejections() {
        return rejections;
    }

    /** The checkpoint this batch writes; the partition's current checkpoint when it does not advance. */
    public long checkpointOffset() {
        return checkpointOffset;
    }

    /** The lines that overwrite or delete keys here on a resync snapshot's say-so, in body order. */
    public List<Overwrite> overwrites() {
        return Collections.unmodifiableList(overwrites);
    }

    /** Kafka records this batch consumed. */
    public int records() {
        return records;
    }

    /** True when there is nothing to send to Redis (no commands and the checkpoint does not move). */
    public boolean isEmpty() {
        return body.isEmpty();
    }

    /** Number of body lines that are peers' commands. */
    public int commandCount() {
        int n = 0;
        for (Source source : sources) {
            if (source != null) {
                n++;
            }
        }
        return n;
    }

    /** The same batch without the body lines at {@code indexes} (commands Redis refused to queue). */
    public EventBatch without(Set<Integer> indexes) {
        Map<Integer, RawCommand> dropped = new HashMap<>();
        indexes.forEach(index -> dropped.put(index, null));
        return rewritten(dropped, overwrites);
    }

    /**
     * The same batch to be run again: the body lines at the map's indexes replaced by its values (a null value
     * drops the line), and the rejections left out, as they were reported when the batch was first sent. Its
     * overwrites are {@code overwrites} (lines numbered as in this batch; those of dropped lines go).
     */
    public EventBatch rewritten(Map<Integer, RawCommand> lines, List<Overwrite> overwrites) {
        List<RawCommand> keptBody = new ArrayList<>();
        List<Source> keptSources = new ArrayList<>();
        long[] keptOffsets = new long[body.size()];
        Map<Integer, Integer> moved = new HashMap<>();
        for (int i = 0; i < body.size(); i++) {
            RawCommand line = lines.containsKey(i) ? lines.get(i) : body.get(i);
            if (line != null) {
                moved.put(i, keptBody.size());
                keptOffsets[keptBody.size()] = lineOffsets[i];
                keptBody.add(line);
                keptSources.add(sources.get(i));
            }
        }
        List<Overwrite> keptOverwrites = new ArrayList<>();
        for (Overwrite overwrite : overwrites) {
            Integer line = moved.get(overwrite.line());
            if (line != null) {
                keptOverwrites.add(new Overwrite(line, overwrite.db(), overwrite.keys(), overwrite.whenKept(), overwrite.whenAddedOnly(),
                        overwrite.rebuilt()));
            }
        }
        return new EventBatch(partition, keptBody, keptSources, java.util.Arrays.copyOf(keptOffsets, keptBody.size()), events, List.of(),
                keptOverwrites, checkpointOffset, records);
    }
}
