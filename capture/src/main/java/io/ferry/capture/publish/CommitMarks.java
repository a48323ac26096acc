package io.ferry.capture.publish;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Which Kafka offset of the writer's partition covers each {@link Outbox.Mark}: that of the last record
 * sent before the mark, given once its transaction is committed (an aborted record is never visible, so
 * nothing may wait for it). Used by the writer's thread only.
 */
final class CommitMarks {

    /** The last record sent in the open transaction; null when it has none. */
    private Future<RecordMetadata> lastSent;
    /** Offset of the last record this writer committed; -1 before its first commit. */
    private long lastCommitted = -1;
    /** Marks of the open transaction, each with the last record sent before it. */
    private final List<Map.Entry<CompletableFuture<Long>, Future<RecordMetadata>>> open = new ArrayList<>();

    void sent(Future<RecordMetadata> record) {
        lastSent = record;
    }

    /** Whether this writer has sent or committed any record: without one, what came before it is not known here. */
    boolean knowsARecord() {
        return lastSent != null || lastCommitted >= 0;
    }

    /** Answers {@code committedOffset} now when the open transaction sent nothing yet, else at its commit. */
    void mark(CompletableFuture<Long> committedOffset) {
        if (lastSent != null) {
            open.add(Map.entry(committedOffset, lastSent));
        } else {
            committedOffset.complete(lastCommitted);
        }
    }

    /** The open transaction was committed: every record it sent has its offset. */
    void committed() {
        if (lastSent != null) {
            lastCommitted = offsetOf(lastSent);
            lastSent = null;
        }
        open.forEach(mark -> mark.getKey().complete(offsetOf(mark.getValue())));
        open.clear();
    }

    /** The open transaction will never be committed (the writer stops). */
    void aborted(String why) {
        open.forEach(mark -> mark.getKey().completeExceptionally(new IllegalStateException(why)));
        open.clear();
        lastSent = null;
    }

    private static long offsetOf(Future<RecordMetadata> sent) {
        try {
            return sent.get().offset();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted reading the offset of a committed record", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a record of a committed transaction has no offset", e.getCause());
        }
    }
}
