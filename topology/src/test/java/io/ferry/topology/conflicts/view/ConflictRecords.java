package io.ferry.topology.conflicts.view;

import io.ferry.schemas.Command;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.ConflictingWrite;
import io.ferry.schemas.SourcePosition;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/** Conflict records as apply agents write them, for the table's tests. */
final class ConflictRecords {

    static final String REPLID = "8f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c";

    private ConflictRecords() {
    }

    /** A write made on {@code origin}, event {@code kafkaOffset} of its changes topic. */
    static ConflictingWrite write(String origin, long kafkaOffset, long timeMillis) {
        return ConflictingWrite.newBuilder().setOrigin(origin).setKafkaOffset(kafkaOffset)
                .setPosition(new SourcePosition(REPLID, 1000 + kafkaOffset, 0)).setTimeMillis(timeMillis)
                .setCommand(new Command("SET", List.of(ByteBuffer.wrap(new byte[] {'k'}), ByteBuffer.wrap(new byte[] {'v'}))))
                .build();
    }

    /**
     * {@code applier}'s record of a concurrent pair: {@code peerWrite} came from a peer and met
     * {@code localWrite}, made here.
     */
    static Conflict pair(String applier, String type, String key, ConflictingWrite peerWrite, ConflictingWrite localWrite,
                         String policy, String winner, String resolution) {
        return Conflict.newBuilder()
                .setApplier(applier)
                .setOrigin(peerWrite.getOrigin())
                .setType(type)
                .setKey(ByteBuffer.wrap(key.getBytes(StandardCharsets.UTF_8)))
                .setPosition(peerWrite.getPosition())
                .setCommand(peerWrite.getCommand())
                .setTimeMillis(Instant.ofEpochMilli(peerWrite.getTimeMillis() + 50))
                .setDb(0)
                .setWrite(peerWrite)
                .setOther(localWrite)
                .setPolicy(policy)
                .setWinner(winner)
                .setResolution(resolution)
                .build();
    }

    /** A conflict seen only in a reply: {@code origin}'s write at stream offset {@code offset} had no effect on {@code applier}. */
    static Conflict replyOnly(String applier, String origin, String type, byte[] key, long offset) {
        return Conflict.newBuilder()
                .setApplier(applier)
                .setOrigin(origin)
                .setType(type)
                .setKey(ByteBuffer.wrap(key))
                .setPosition(new SourcePosition(REPLID, offset, 0))
                .setCommand(new Command("SETNX", List.of(ByteBuffer.wrap(key), ByteBuffer.wrap(new byte[] {'1'}))))
                .setTimeMillis(Instant.ofEpochMilli(1_700_000_000_000L + offset))
                .build();
    }
}
