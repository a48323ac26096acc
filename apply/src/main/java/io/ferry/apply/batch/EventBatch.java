package io.ferry.apply.batch;

import io.ferry.apply.deadletter.Rejection;
import io.ferry.apply.redis.RawCommand;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
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

    private final PartitionState partition;
    private final List<RawCommand> body;
    private final List<Source> sources;
    private final List<ChangeEvent> events;
    private final List<Rejection> rejections;
    private final long checkpointOffset;
    private final int records;

    EventBatch(PartitionState partition, List<RawCommand> body, List<Source> sources, List<ChangeEvent> events,
               List<Rejection> rejections, long checkpointOffset, int records) {
        this.partition = partition;
        this.body = body;
        this.sources = sources;
        this.events = events;
        this.rejections = rejections;
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
        List<RawCommand> keptBody = new ArrayList<>();
        List<Source> keptSources = new ArrayList<>();
        for (int i = 0; i < body.size(); i++) {
            if (!indexes.contains(i)) {
                keptBody.add(body.get(i));
                keptSources.add(sources.get(i));
            }
        }
        return new EventBatch(partition, keptBody, keptSources, events, List.of(), checkpointOffset, records);
    }
}
