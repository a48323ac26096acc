package io.ferry.topology.conflicts.view;

import io.ferry.schemas.Conflict;
import io.ferry.schemas.ConflictingWrite;
import io.ferry.schemas.SourcePosition;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Turns one record of an apply agent's conflicts topic into what the mesh-wide table merges: the row it
 * belongs to (db, key, class) and the conflict's identity within that row.
 *
 * <p>The same concurrent pair is usually recorded twice, once by each origin's apply agent, with
 * {@code write} and {@code other} swapped; so a pair's identity is the unordered pair of its writes, each
 * named by origin and offset in its origin's changes topic. A conflict seen only in a reply
 * ({@code other} is null: an unmet condition, a type clash, an existing key) has one side only; its
 * identity is the applier, the origin and the write's position.
 */
public final class SightingMapper {

    private SightingMapper() {
    }

    /** A conflicts-topic record as the table keys and merges it. */
    public record Mapped(ConflictTableKey key, ConflictObservation observation) {
    }

    public static Mapped map(Conflict conflict, String topic, int partition, long offset) {
        ConflictWriteRef write = write(conflict);
        ConflictWriteRef other = conflict.getOther() == null ? null : ref(conflict.getOther());
        List<ConflictWriteRef> writes = new ArrayList<>();
        writes.add(write);
        String entryId;
        if (other == null) {
            entryId = "reply:" + conflict.getApplier() + "/" + conflict.getOrigin() + "@" + position(conflict.getPosition());
        } else {
            writes.add(other);
            // canonical order, so both sides' records of one pair name it the same way
            writes.sort(Comparator.comparing(SightingMapper::writeId));
            entryId = writeId(writes.get(0)) + "|" + writeId(writes.get(1));
        }
        ConflictSighting sighting = ConflictSighting.newBuilder()
                .setApplier(conflict.getApplier())
                .setResolution(conflict.getResolution() == null ? "RECORDED" : conflict.getResolution())
                .setWinner(conflict.getWinner())
                .setPolicy(conflict.getPolicy() == null ? "" : conflict.getPolicy())
                .setTimeMillis(conflict.getTimeMillis().toEpochMilli())
                .setTopic(topic)
                .setPartition(partition)
                .setOffset(offset)
                .build();
        ByteBuffer key = conflict.getKey() == null ? ByteBuffer.allocate(0) : conflict.getKey().duplicate();
        ConflictTableKey tableKey = ConflictTableKey.newBuilder().setDb(conflict.getDb()).setKey(copy(key))
                .setType(conflict.getType()).build();
        ConflictObservation observation = ConflictObservation.newBuilder().setEntryId(entryId).setReplyOnly(other == null)
                .setWrites(writes).setSighting(sighting).build();
        return new Mapped(tableKey, observation);
    }

    /** {@code origin@kafkaOffset}, or the stream position (then the source time) when the offset is unknown. */
    static String writeId(ConflictWriteRef write) {
        if (write.getKafkaOffset() >= 0) {
            return write.getOrigin() + "@" + write.getKafkaOffset();
        }
        return write.getOrigin() + "@" + (write.getPosition() != null ? write.getPosition() : "t" + write.getTimeMillis());
    }

    /** The peer's write: {@code write} when the record has it, else what older records say at top level. */
    private static ConflictWriteRef write(Conflict conflict) {
        if (conflict.getWrite() != null) {
            return ref(conflict.getWrite());
        }
        return ConflictWriteRef.newBuilder()
                .setOrigin(conflict.getOrigin())
                .setKafkaOffset(-1)
                .setPosition(position(conflict.getPosition()))
                .setTimeMillis(conflict.getTimeMillis().toEpochMilli())
                .setCommand(conflict.getCommand() == null ? null : conflict.getCommand().getName())
                .build();
    }

    private static ConflictWriteRef ref(ConflictingWrite write) {
        return ConflictWriteRef.newBuilder()
                .setOrigin(write.getOrigin())
                .setKafkaOffset(write.getKafkaOffset())
                .setPosition(position(write.getPosition()))
                .setTimeMillis(write.getTimeMillis())
                .setCommand(write.getCommand() == null ? null : write.getCommand().getName())
                .build();
    }

    private static String position(SourcePosition position) {
        return position == null ? null : position.getReplid() + ":" + position.getOffset();
    }

    private static ByteBuffer copy(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return ByteBuffer.wrap(bytes);
    }
}
