package io.ferry.capture.stream;

import io.ferry.schemas.EventKind;
import io.ferry.schemas.KeyExpiries;
import io.ferry.resp.SpilledBulk;
import java.util.List;
import java.util.Map;

/** Receives what {@link StreamMapper} made of the replication stream, in stream order. */
public interface StreamSink {

    /**
     * One change to publish.
     *
     * @param kind      COMMAND or TRANSACTION
     * @param db        db the commands apply to
     * @param commands  commands to apply, TTLs already absolute
     * @param keys      keys touched
     * @param endOffset replication offset of the last byte this event covers
     * @param endDb     db selected after that byte
     */
    void publish(EventKind kind, int db, List<byte[][]> commands, List<byte[]> keys, long endOffset, int endDb)
            throws InterruptedException;

    /**
     * A change too big for one record, its commands in {@code spool} (a MULTI/EXEC block, or one command): published
     * as a staged block (chunks carrying {@code beforeOffset}, then one EVAL at {@code endOffset}), or, when the spool
     * says it cannot be staged, as a refusal the peers dead-letter. {@code keys}: the first keys it touches (as many
     * as fit in one event); {@code droppedKeys}: how many more it touches. The spool stays readable until this returns.
     */
    default void publishStaged(int db, BlockSpool spool, List<byte[]> keys, long droppedKeys, long beforeOffset, long endOffset,
                               int endDb) throws InterruptedException {
        throw new UnsupportedOperationException("this sink does not take staged blocks");
    }

    /**
     * The next {@link #publish} is a conflict repair carrying a write made at {@code millis}: its source time;
     * {@code republished}: a re-publication after a resync (see {@code ReplicationPolicy.REPUBLISHED_HEADER}).
     */
    void sourceTime(long millis, boolean republished);

    /**
     * The next {@link #publish}'s commands hold arguments too big for a record: each is an empty placeholder
     * array (compared by identity) standing for the file in {@code values}, which stays readable until that
     * publish returns. {@code beforeOffset}/{@code beforeDb}: the position just before the event.
     */
    void spilledValues(Map<byte[], SpilledBulk> values, long beforeOffset, int beforeDb);

    /** The next {@link #publish}'s keys that the source holds with a TTL still running (by key index). */
    void keyExpiries(KeyExpiries expiries);

    /** The position advanced over bytes that produce no event (PING, SELECT, filtered commands, echoes). */
    void advance(long endOffset, int endDb) throws InterruptedException;

    /** A command deliberately not published (counted by name). */
    void filtered(String command, String reason);

    /**
     * The local apply agent checkpointed {@code origin}'s {@code partition} at {@code offset}: local writes
     * from here on happened after those peer writes were applied (causality for conflict detection).
     */
    void applied(String origin, int partition, long offset);

    /** A block written by the local apply agent on behalf of {@code origin}: not published again. */
    void echo(String origin);
}
