package io.ferry.capture.snapshot;

import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.SnapshotChunk;
import io.ferry.schemas.SourcePosition;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns one RDB key into the events that recreate it on a peer: a SNAPSHOT_KEY carrying
 * {@code RESTORE key expireAt payload ABSTTL}, or, when that would not fit in one Kafka record,
 * ordered SNAPSHOT_CHUNK events whose data concatenate to the payload (its count known before the first,
 * as the payload's length is). No state; a big payload is read from the spooled RDB as its chunks are made.
 */
public final class SnapshotMapper {

    /** Room left in a record for everything but the payload (Avro framing, origin, position, names). */
    static final int RECORD_OVERHEAD = 1024;

    private static final ByteBuffer ABSTTL = ByteBuffer.wrap("ABSTTL".getBytes(StandardCharsets.US_ASCII));
    private static final ByteBuffer REPLACE = ByteBuffer.wrap("REPLACE".getBytes(StandardCharsets.US_ASCII));

    private SnapshotMapper() {
    }

    /** Receives the events of a key in order; may block (back-pressure). */
    public interface EventSink {
        void accept(ChangeEvent event) throws Exception;
    }

    /**
     * Hands {@code sink} the events of {@code key}, one at a time: a big key's payload is read in record-sized
     * pieces as they are sent, never whole.
     */
    public static void emit(SnapshotKey key, String origin, SourcePosition position, Instant now, int maxRecordBytes,
                            EventSink sink) throws Exception {
        int room = payloadRoom(key, maxRecordBytes);
        List<ByteBuffer> keys = List.of(ByteBuffer.wrap(key.key()));
        if (key.payload().length() <= room) {
            Command restore = new Command("RESTORE", List.of(ByteBuffer.wrap(key.key()),
                    ByteBuffer.wrap(Long.toString(key.expireAtMillis()).getBytes(StandardCharsets.US_ASCII)),
                    ByteBuffer.wrap(key.payload().bytes()), ABSTTL.duplicate()));
            sink.accept(event(EventKind.SNAPSHOT_KEY, origin, position, key.db(), List.of(restore), keys, now, null));
            return;
        }
        key.payload().pieces(room, (index, count, data) -> {
            SnapshotChunk chunk = new SnapshotChunk(ByteBuffer.wrap(key.key()), index, count, key.expireAtMillis(), ByteBuffer.wrap(data));
            sink.accept(event(EventKind.SNAPSHOT_CHUNK, origin, position, key.db(), List.of(), keys, now, chunk));
        });
    }

    /**
     * Like {@link #emit}, but a key that fits one record goes as a COMMAND {@code RESTORE key <expireAt> <payload>
     * ABSTTL REPLACE}: peers replace their copy instead of keeping it (a key moved into a shard before that shard's
     * first PSYNC, whose value holds writes made there that its stream never carried). False when the key is too big
     * for one record and went as an ordinary (add-if-missing) snapshot key in chunks.
     */
    public static boolean emitReplacing(SnapshotKey key, String origin, SourcePosition position, Instant now, int maxRecordBytes,
                                        EventSink sink) throws Exception {
        if (key.payload().length() > payloadRoom(key, maxRecordBytes) - 16) {
            emit(key, origin, position, now, maxRecordBytes, sink);
            return false;
        }
        Command restore = new Command("RESTORE", List.of(ByteBuffer.wrap(key.key()),
                ByteBuffer.wrap(Long.toString(key.expireAtMillis()).getBytes(StandardCharsets.US_ASCII)),
                ByteBuffer.wrap(key.payload().bytes()), ABSTTL.duplicate(), REPLACE.duplicate()));
        sink.accept(event(EventKind.COMMAND, origin, position, key.db(), List.of(restore), List.of(ByteBuffer.wrap(key.key())), now, null));
        return true;
    }

    /** The events of {@code key} as a list: for keys known to be small, and tests. */
    public static List<ChangeEvent> events(SnapshotKey key, String origin, SourcePosition position, Instant now,
                                           int maxRecordBytes) throws Exception {
        List<ChangeEvent> events = new ArrayList<>();
        emit(key, origin, position, now, maxRecordBytes, events::add);
        return events;
    }

    /** Payload bytes one record can carry beside the rest of a snapshot event of {@code key}. */
    private static int payloadRoom(SnapshotKey key, int maxRecordBytes) {
        int room = maxRecordBytes - RECORD_OVERHEAD - 2 * key.key().length;
        if (room < 1024) {
            throw new IllegalArgumentException("key of " + key.key().length + " bytes in db " + key.db()
                    + " leaves no room in a record of " + maxRecordBytes + " bytes; raise capture.maxRecordBytes");
        }
        return room;
    }

    public static ChangeEvent marker(EventKind kind, String origin, SourcePosition position, Instant now) {
        return event(kind, origin, position, position.getDb(), List.of(), List.of(), now, null);
    }

    private static ChangeEvent event(EventKind kind, String origin, SourcePosition position, int db, List<Command> commands,
                                     List<ByteBuffer> keys, Instant now, SnapshotChunk chunk) {
        return ChangeEvent.newBuilder()
                .setOrigin(origin)
                .setPosition(position)
                .setKind(kind)
                .setDb(db)
                .setCommands(commands)
                .setKeys(keys)
                .setCaptureTimeMillis(now)
                .setChunk(chunk)
                .setHeartbeat(null)
                .build();
    }
}
