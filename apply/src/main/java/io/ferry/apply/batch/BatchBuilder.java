package io.ferry.apply.batch;

import io.ferry.apply.deadletter.Rejection;
import io.ferry.apply.redis.RawCommand;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.KeyExpiries;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns consecutive records of one peer partition into one {@link EventBatch}:
 * {@code <commands…>; SELECT 0; SET <checkpoint> <last offset>}, wrapped in MULTI/EXEC by the client.
 */
public final class BatchBuilder {

    private static final byte[] ZERO = "0".getBytes(StandardCharsets.US_ASCII);
    private static final Logger LOG = LoggerFactory.getLogger(BatchBuilder.class);
    /** A batch is applied well within this after it is built; an expiry this close is applied with the write. */
    static final long EXPIRY_MARGIN_MILLIS = 2_000;

    /** Decides whether a peer's COMMAND or TRANSACTION is applied here (conflict settlement may skip it). */
    @FunctionalInterface
    public interface Admission {
        Admission ALL = (event, record) -> true;

        boolean admit(ChangeEvent event, ConsumerRecord<byte[], byte[]> record);

        /** A record this instance had applied already (read again after a restart); nothing is written. */
        default void replayed(ChangeEvent event, ConsumerRecord<byte[], byte[]> record) {
        }
    }

    private final String self;
    private final Admission admission;
    private final ChangeEventDecoder decoder = new ChangeEventDecoder();

    /** @param self the applying instance: an event claiming to come from it would be a replication loop */
    public BatchBuilder(String self) {
        this(self, Admission.ALL);
    }

    /** @param admission asked for every peer COMMAND and TRANSACTION; a skipped one is still checkpointed */
    public BatchBuilder(String self, Admission admission) {
        this.self = self;
        this.admission = admission;
    }

    public EventBatch build(PartitionState state, List<ConsumerRecord<byte[], byte[]>> records) {
        List<RawCommand> body = new ArrayList<>();
        List<EventBatch.Source> sources = new ArrayList<>();
        List<ChangeEvent> events = new ArrayList<>();
        List<Rejection> rejections = new ArrayList<>();
        ChunkAssembler chunks = state.chunks();
        int db = 0;
        long last = state.checkpoint();
        int consumed = 0;
        for (ConsumerRecord<byte[], byte[]> record : records) {
            long offset = record.offset();
            if (offset <= state.checkpoint()) {
                replayed(record); // already applied according to Redis: never twice
                continue;
            }
            consumed++;
            last = offset;
            ChangeEvent event;
            try {
                event = decoder.decode(record.value());
            } catch (SerializationException e) {
                rejections.add(new Rejection(offset, "UNDECODABLE", e.getMessage(), null, null, record.value()));
                continue;
            }
            if (self.equals(event.getOrigin())) {
                rejections.add(new Rejection(offset, "OWN_ORIGIN", "event from " + self
                        + " found in peer topic " + record.topic() + ": it would loop; not applied", event, null, null));
                continue;
            }
            events.add(event);
            EventKind kind = event.getKind();
            if (kind != EventKind.SNAPSHOT_CHUNK && kind != EventKind.HEARTBEAT && chunks.incomplete()) {
                rejections.add(new Rejection(chunks.firstOffset(), "INCOMPLETE_CHUNKS", kind + " at offset " + offset
                        + " arrived while " + chunks.describe() + " was incomplete; the partial key is not restored", event, null, null));
                chunks.reset();
            }
            switch (kind) {
                case COMMAND, TRANSACTION, SNAPSHOT_KEY -> {
                    if (kind != EventKind.SNAPSHOT_KEY && !admission.admit(event, record)) {
                        break; // loses a conflict to this instance's own write: not applied here
                    }
                    for (Command command : event.getCommands()) {
                        db = select(body, sources, db, event.getDb());
                        body.add(toRaw(command));
                        sources.add(new EventBatch.Source(event, offset, command));
                    }
                    expireWithOrigin(record, event, body, sources);
                }
                case SNAPSHOT_CHUNK -> {
                    if (event.getChunk() == null) {
                        rejections.add(new Rejection(offset, "BAD_CHUNK", "SNAPSHOT_CHUNK event without chunk", event, null, null));
                        break;
                    }
                    ChunkAssembler.Step step = chunks.accept(event.getChunk(), offset);
                    if (step.problem() != null) {
                        rejections.add(new Rejection(offset, "INCOMPLETE_CHUNKS", step.problem(), event, null, null));
                    }
                    if (step.restore() != null) {
                        db = select(body, sources, db, event.getDb());
                        body.add(step.restore());
                        sources.add(new EventBatch.Source(event, offset, new Command("RESTORE",
                                List.of(ByteBuffer.wrap(step.restore().args().get(0))))));
                    }
                }
                case SNAPSHOT_START, SNAPSHOT_END, HEARTBEAT -> {
                    // nothing to write; they only move the checkpoint (and the lag clock)
                }
            }
        }
        // The checkpoint never passes the first chunk of a key still being reassembled.
        long checkpoint = chunks.incomplete() ? Math.min(last, chunks.firstOffset() - 1) : last;
        checkpoint = Math.max(checkpoint, state.checkpoint());
        if (!body.isEmpty() || checkpoint > state.checkpoint()) {
            select(body, sources, db, 0);
            body.add(new RawCommand("SET", List.of(state.checkpointKey(),
                    Long.toString(checkpoint).getBytes(StandardCharsets.US_ASCII))));
            sources.add(null);
        }
        return new EventBatch(state, body, sources, events, rejections, checkpoint, consumed);
    }

    /**
     * Keys the origin still held with a TTL after the write, but whose TTL has run out here, or will by the
     * time the batch runs: this instance's copy expired a moment before the write arrived, so the write just
     * made the key anew without a TTL, while the origin's copy is about to expire. Applying the origin's
     * expiry in the same block makes this copy go as the origin's does. (The expiry is sent only while it
     * is certain; see {@link ReplicationPolicy#EXPIRY_HEADER}.)
     */
    private static void expireWithOrigin(ConsumerRecord<byte[], byte[]> record, ChangeEvent event, List<RawCommand> body,
                                         List<EventBatch.Source> sources) {
        Header header = record.headers().lastHeader(ReplicationPolicy.EXPIRY_HEADER);
        if (header == null || header.value() == null) {
            return;
        }
        KeyExpiries expiries;
        try {
            expiries = KeyExpiries.decode(header.value());
        } catch (IllegalArgumentException e) {
            LOG.warn("record {}-{}@{}: {}; applied without it", record.topic(), record.partition(), record.offset(), e.getMessage());
            return;
        }
        long soon = System.currentTimeMillis() + EXPIRY_MARGIN_MILLIS;
        expiries.byIndex().forEach((index, at) -> {
            if (at <= soon && index < event.getKeys().size()) {
                body.add(new RawCommand("PEXPIREAT", List.of(ChunkAssembler.bytes(event.getKeys().get(index)),
                        Long.toString(at).getBytes(StandardCharsets.US_ASCII))));
                sources.add(null);
            }
        });
    }

    private void replayed(ConsumerRecord<byte[], byte[]> record) {
        if (admission == Admission.ALL) {
            return;
        }
        try {
            ChangeEvent event = decoder.decode(record.value());
            if (event.getKind() == EventKind.COMMAND || event.getKind() == EventKind.TRANSACTION) {
                admission.replayed(event, record);
            }
        } catch (SerializationException e) {
            // dead-lettered when it was first read
        }
    }

    private static int select(List<RawCommand> body, List<EventBatch.Source> sources, int current, int wanted) {
        if (current != wanted) {
            body.add(new RawCommand("SELECT", List.of(wanted == 0 ? ZERO : Integer.toString(wanted).getBytes(StandardCharsets.US_ASCII))));
            sources.add(null);
        }
        return wanted;
    }

    static RawCommand toRaw(Command command) {
        List<byte[]> args = new ArrayList<>(command.getArgs().size());
        for (ByteBuffer arg : command.getArgs()) {
            args.add(ChunkAssembler.bytes(arg));
        }
        return new RawCommand(command.getName(), args);
    }
}
