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
import java.util.Map;
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

    /**
     * Reconciles a snapshot published after a full resync of a running peer (records with the
     * {@link ReplicationPolicy#RESYNC_HEADER} header) with this instance's keys. Asked with nothing in flight.
     */
    public interface Resync {
        /** SNAPSHOT_START of a resync snapshot: a new reconciliation begins. */
        void started(PartitionState state, ConsumerRecord<byte[], byte[]> record);

        /** What becomes of the copy here of one of the snapshot's keys. */
        enum KeyAction {
            /** RESTORE … REPLACE: this instance holds nothing the origin had not seen of it. */
            REPLACE,
            /** Nothing: writes the origin had not applied guard it (present or deleted here). */
            KEEP,
            /** RESTORE without REPLACE, as a first-start snapshot: only where the key is missing. */
            ADD_IF_MISSING
        }

        /** @param event the record's event (the last chunk's for a key sent in chunks): the key's db and origin */
        KeyAction keyAction(PartitionState state, ConsumerRecord<byte[], byte[]> record, ChangeEvent event, byte[] key);

        /** At SNAPSHOT_END ({@code event}): keys here, by db, that the snapshot did not bring and nothing guards; to be deleted. */
        Map<Integer, List<byte[]>> staleKeys(PartitionState state, ConsumerRecord<byte[], byte[]> record, ChangeEvent event);

        /**
         * Asked right after {@link #staleKeys}: keys here, by db, that the snapshot did not bring but that writes its
         * origin had not applied guard, each deleted on its own line, which is rebuilt from those writes when the batch
         * is judged (or left out).
         */
        default Map<Integer, List<byte[]>> rebuiltAbsentKeys(PartitionState state) {
            return Map.of();
        }

        /**
         * The reserved set recording that the snapshot brought {@code key}, written in the key's MULTI/EXEC: one per
         * partition ({@link ReplicationPolicy#resyncKeysKey}), or on a Redis Cluster one per slot, in the key's slot.
         */
        default byte[] broughtKeysKey(PartitionState state, byte[] key) {
            return ReplicationPolicy.resyncKeysKey(state.peer(), state.partition().partition());
        }

        /** Every set {@link #broughtKeysKey} can name: deleted at the snapshot's start and end. */
        default List<byte[]> broughtKeysKeys(PartitionState state) {
            return List.of(ReplicationPolicy.resyncKeysKey(state.peer(), state.partition().partition()));
        }
    }

    private static final byte[] REPLACE = "REPLACE".getBytes(StandardCharsets.US_ASCII);
    /** Keys per DEL command of a resync's stale keys. */
    private static final int DELETE_CHUNK = 512;

    private final String self;
    private final Admission admission;
    private final Resync resync;
    private final ChangeEventDecoder decoder = new ChangeEventDecoder();

    /** @param self the applying instance: an event claiming to come from it would be a replication loop */
    public BatchBuilder(String self) {
        this(self, Admission.ALL);
    }

    /** @param admission asked for every peer COMMAND and TRANSACTION; a skipped one is still checkpointed */
    public BatchBuilder(String self, Admission admission) {
        this(self, admission, null);
    }

    /** @param resync reconciles resync snapshots; null applies them as first-start snapshots (missing keys only) */
    public BatchBuilder(String self, Admission admission, Resync resync) {
        this.self = self;
        this.admission = admission;
        this.resync = resync;
    }

    public EventBatch build(PartitionState state, List<ConsumerRecord<byte[], byte[]>> records) {
        List<RawCommand> body = new ArrayList<>();
        List<EventBatch.Source> sources = new ArrayList<>();
        List<ChangeEvent> events = new ArrayList<>();
        List<Rejection> rejections = new ArrayList<>();
        ChunkAssembler chunks = state.chunks();
        int db = 0;
        List<EventBatch.Overwrite> overwrites = new ArrayList<>();
        long last = state.checkpoint();
        int consumed = 0;
        // where each consumed record's lines begin in the body: every line is tagged with its record's offset
        List<Integer> recordStarts = new ArrayList<>();
        List<Long> recordOffsets = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : records) {
            long offset = record.offset();
            if (offset <= state.checkpoint()) {
                replayed(record); // already applied according to Redis: never twice
                continue;
            }
            consumed++;
            recordStarts.add(body.size());
            recordOffsets.add(offset);
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
                int stageDb = chunks.db();
                RawCommand discard = chunks.reset();
                db = select(body, sources, db, stageDb);
                body.add(discard);
                sources.add(null);
            }
            boolean resyncRecord = resync != null && record.headers().lastHeader(ReplicationPolicy.RESYNC_HEADER) != null
                    && kind != EventKind.HEARTBEAT;
            if (kind == EventKind.SNAPSHOT_CHUNK) {
                // one path for both snapshot kinds: stage the chunk; the completed key is restored as its kind says
                ChunkAssembler.Staged complete = stageChunk(event, chunks, offset, body, sources, rejections, db);
                db = event.getChunk() == null ? db : event.getDb();
                if (complete != null) {
                    db = resyncRecord ? restoreResyncKey(state, record, event, complete, body, sources, overwrites, db)
                            : restore(event, offset, ChunkAssembler.restore(complete, false), complete.key(), body, sources, db);
                }
                continue;
            }
            if (resyncRecord) {
                db = resyncRecord(state, record, event, body, sources, rejections, overwrites, db);
                continue;
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
                case SNAPSHOT_START, SNAPSHOT_END, HEARTBEAT -> {
                    // nothing to write; they only move the checkpoint (and the lag clock)
                    if (record.headers().lastHeader(ReplicationPolicy.RETIRED_HEADER) != null) {
                        state.markRetired();
                    }
                }
            }
        }
        // The checkpoint never passes the first chunk of a key still being staged.
        long checkpoint = chunks.incomplete() ? Math.min(last, chunks.firstOffset() - 1) : last;
        checkpoint = Math.max(checkpoint, state.checkpoint());
        if (!body.isEmpty() || checkpoint > state.checkpoint()) {
            recordStarts.add(body.size());
            recordOffsets.add(checkpoint);
            select(body, sources, db, 0);
            body.add(new RawCommand("SET", List.of(state.checkpointKey(),
                    Long.toString(checkpoint).getBytes(StandardCharsets.US_ASCII))));
            sources.add(null);
        }
        return new EventBatch(state, body, sources, lineOffsets(body.size(), recordStarts, recordOffsets), events, rejections,
                overwrites, checkpoint, consumed);
    }

    /** Per body line, the offset of the record whose lines begin at or before it. */
    static long[] lineOffsets(int lines, List<Integer> starts, List<Long> offsets) {
        long[] byLine = new long[lines];
        for (int r = 0; r < starts.size(); r++) {
            int end = r + 1 < starts.size() ? starts.get(r + 1) : lines;
            java.util.Arrays.fill(byLine, starts.get(r), end, offsets.get(r));
        }
        return byLine;
    }

    /**
     * One record of a resync snapshot: SNAPSHOT_START clears the sets of keys the snapshot brought (left over
     * from an interrupted one; {@link Resync#broughtKeysKeys}); each key replaces the copy here unless guarded, and
     * joins its set in the same MULTI/EXEC; SNAPSHOT_END deletes the keys here the snapshot did not bring and nothing
     * guards, then the sets.
     * Lines that replace or delete keys are added to {@code overwrites}. Returns the db selected at the end.
     */
    private int resyncRecord(PartitionState state, ConsumerRecord<byte[], byte[]> record, ChangeEvent event, List<RawCommand> body,
                             List<EventBatch.Source> sources, List<Rejection> rejections, List<EventBatch.Overwrite> overwrites, int db) {
        long offset = record.offset();
        switch (event.getKind()) {
            case SNAPSHOT_START -> {
                resync.started(state, record);
                db = select(body, sources, db, 0);
                body.add(new RawCommand("DEL", resync.broughtKeysKeys(state)));
                sources.add(null);
            }
            case SNAPSHOT_KEY -> {
                if (event.getCommands().isEmpty() || event.getCommands().get(0).getArgs().isEmpty()) {
                    rejections.add(new Rejection(offset, "BAD_SNAPSHOT_KEY", "SNAPSHOT_KEY event without RESTORE", event, null, null));
                    break;
                }
                Command command = event.getCommands().get(0);
                RawCommand restore = toRaw(command);
                byte[] key = restore.args().get(0);
                Resync.KeyAction action = resync.keyAction(state, record, event, key);
                if (action == Resync.KeyAction.REPLACE) {
                    List<byte[]> args = new ArrayList<>(restore.args());
                    args.add(REPLACE);
                    db = replacing(event, offset, new RawCommand("RESTORE", args), key, null, restore, body, sources, overwrites, db);
                } else if (action == Resync.KeyAction.ADD_IF_MISSING) {
                    db = restore(event, offset, restore, key, body, sources, db);
                }
                db = snapshotKeyBrought(state, event.getDb(), key, body, sources, db);
            }
            case SNAPSHOT_END -> {
                Map<Integer, List<byte[]>> stale = resync.staleKeys(state, record, event);
                for (Map.Entry<Integer, List<byte[]>> entry : stale.entrySet()) {
                    List<byte[]> keys = entry.getValue();
                    for (int from = 0; from < keys.size(); from += DELETE_CHUNK) {
                        List<byte[]> chunk = keys.subList(from, Math.min(keys.size(), from + DELETE_CHUNK));
                        db = select(body, sources, db, entry.getKey());
                        overwrites.add(EventBatch.Overwrite.deletion(body.size(), db, List.copyOf(chunk)));
                        body.add(new RawCommand("DEL", new ArrayList<>(chunk)));
                        sources.add(new EventBatch.Source(event, offset, new Command("DEL", List.of(ByteBuffer.wrap(chunk.get(0))))));
                    }
                }
                for (Map.Entry<Integer, List<byte[]>> entry : resync.rebuiltAbsentKeys(state).entrySet()) {
                    for (byte[] key : entry.getValue()) {
                        db = select(body, sources, db, entry.getKey());
                        overwrites.add(EventBatch.Overwrite.deletion(body.size(), db, List.of(key)));
                        body.add(new RawCommand("DEL", List.of(key)));
                        sources.add(new EventBatch.Source(event, offset, new Command("DEL", List.of(ByteBuffer.wrap(key)))));
                    }
                }
                db = select(body, sources, db, 0);
                body.add(new RawCommand("DEL", resync.broughtKeysKeys(state)));
                sources.add(null);
            }
            default -> {
                // COMMAND or TRANSACTION never carry the header; nothing to write
            }
        }
        return db;
    }

    /**
     * Feeds one SNAPSHOT_CHUNK to the assembler and adds its stage writes to the batch (in the chunk's db);
     * returns the key once all its chunks are staged, else null (problems rejected).
     */
    private static ChunkAssembler.Staged stageChunk(ChangeEvent event, ChunkAssembler chunks, long offset, List<RawCommand> body,
                                                   List<EventBatch.Source> sources, List<Rejection> rejections, int db) {
        if (event.getChunk() == null) {
            rejections.add(new Rejection(offset, "BAD_CHUNK", "SNAPSHOT_CHUNK event without chunk", event, null, null));
            return null;
        }
        ChunkAssembler.Step step = chunks.accept(event.getChunk(), event.getDb(), offset);
        if (step.problem() != null) {
            rejections.add(new Rejection(offset, "INCOMPLETE_CHUNKS", step.problem(), event, null, null));
        }
        db = select(body, sources, db, event.getDb());
        for (RawCommand write : step.writes()) {
            body.add(write);
            sources.add(null);
        }
        return step.complete();
    }

    /** Adds a snapshot key's RESTORE (plain or run from its stage), described in the records by its key only. */
    private static int restore(ChangeEvent event, long offset, RawCommand restore, byte[] key, List<RawCommand> body,
                               List<EventBatch.Source> sources, int db) {
        db = select(body, sources, db, event.getDb());
        body.add(restore);
        sources.add(new EventBatch.Source(event, offset, new Command("RESTORE", List.of(ByteBuffer.wrap(key)))));
        return db;
    }

    /** The RESTORE of a staged resync key as its reconciliation says (the stage deleted either way), then its membership. */
    private int restoreResyncKey(PartitionState state, ConsumerRecord<byte[], byte[]> record, ChangeEvent event, ChunkAssembler.Staged staged,
                                 List<RawCommand> body, List<EventBatch.Source> sources, List<EventBatch.Overwrite> overwrites, int db) {
        Resync.KeyAction action = resync.keyAction(state, record, event, staged.key());
        RawCommand dropStage = new RawCommand("DEL", List.of(staged.stageKey()));
        if (action == Resync.KeyAction.KEEP) {
            db = select(body, sources, db, event.getDb());
            body.add(dropStage);
            sources.add(null);
        } else if (action == Resync.KeyAction.REPLACE) {
            db = replacing(event, record.offset(), ChunkAssembler.restore(staged, true), staged.key(), dropStage,
                    ChunkAssembler.restore(staged, false), body, sources, overwrites, db);
        } else {
            db = restore(event, record.offset(), ChunkAssembler.restore(staged, false), staged.key(), body, sources, db);
        }
        return snapshotKeyBrought(state, event.getDb(), staged.key(), body, sources, db);
    }

    /** Adds a RESTORE … REPLACE of a resync key as an overwrite, with what replaces it if the key must be kept or only added. */
    private static int replacing(ChangeEvent event, long offset, RawCommand restore, byte[] key, RawCommand whenKept, RawCommand whenAddedOnly,
                                 List<RawCommand> body, List<EventBatch.Source> sources, List<EventBatch.Overwrite> overwrites, int db) {
        db = select(body, sources, db, event.getDb());
        overwrites.add(new EventBatch.Overwrite(body.size(), db, List.of(key), whenKept, whenAddedOnly));
        return restore(event, offset, restore, key, body, sources, db);
    }

    /** Records, in the same MULTI/EXEC, that the resync snapshot brought {@code key} of {@code keyDb}. */
    private int snapshotKeyBrought(PartitionState state, int keyDb, byte[] key, List<RawCommand> body, List<EventBatch.Source> sources, int db) {
        db = select(body, sources, db, 0);
        body.add(new RawCommand("SADD", List.of(resync.broughtKeysKey(state, key), member(keyDb, key))));
        sources.add(null);
        return db;
    }

    /** Member of the resync key set for {@code key} in {@code db}: {@code <db>:<key bytes>}. */
    public static byte[] member(int db, byte[] key) {
        byte[] prefix = (db + ":").getBytes(StandardCharsets.US_ASCII);
        byte[] member = java.util.Arrays.copyOf(prefix, prefix.length + key.length);
        System.arraycopy(key, 0, member, prefix.length, key.length);
        return member;
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

    /** A captured command as the raw arguments Redis is sent. */
    public static RawCommand toRaw(Command command) {
        List<byte[]> args = new ArrayList<>(command.getArgs().size());
        for (ByteBuffer arg : command.getArgs()) {
            args.add(ChunkAssembler.bytes(arg));
        }
        return new RawCommand(command.getName(), args);
    }
}
