package io.ferry.capture.publish;

import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.KeyExpiries;
import io.ferry.schemas.SourcePosition;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The bounded queue between the stream reader and the Kafka writer, bounded both in entries and in
 * bytes (snapshot chunks and big values are large). A full outbox blocks the reader (Redis then
 * buffers the stream for us), never drops.
 */
public final class Outbox {

    /** What the writer receives, in stream order. */
    public sealed interface Entry {
    }

    /**
     * An event to publish. {@code resumable} is false for snapshot events before SNAPSHOT_END: a
     * position inside an unfinished snapshot must never be committed as a place to resume from.
     *
     * @param expiries   the event's keys still volatile on the source ({@link KeyExpiries#NONE} for most)
     * @param resyncOf   for the records of a snapshot after a full resync of a running source: the position
     *                   committed before it ({@code replid:offset}, the {@code ferry.resync} header); null otherwise
     * @param orderAfter entries of the instance's other partitions this event must be applied after, known once
     *                   they are committed (keys moved here from another shard: their earlier writes); null for most
     * @param republished the event re-publishes a key's value (its block carried the repair-time marker: the
     *                    {@code ferry.republished} header)
     */
    public record Event(ChangeEvent event, AppliedVector applied, KeyExpiries expiries, boolean resumable, int approxBytes,
                        String resyncOf, CompletableFuture<AppliedVector> orderAfter, boolean republished) implements Entry {
    }

    /**
     * A point in the stream another partition's records may need to be applied after: {@code committedOffset}
     * completes with the Kafka offset of this partition's last record before the mark once Kafka committed it
     * (-1 when the partition has none), or exceptionally if the writer stops first.
     */
    public record Mark(CompletableFuture<Long> committedOffset) implements Entry {
    }

    /** The stream advanced without an event (PING, SELECT, filtered commands, echoes); {@code applied} as of there. */
    public record Advance(SourcePosition position, AppliedVector applied) implements Entry {
    }

    /** Commit what is open and stop; {@code retire}: first mark the partition retired (its last record). */
    public record Stop(boolean retire) implements Entry {
    }

    private final BlockingQueue<Entry> queue;
    private final long maxBytes;
    private final AtomicLong bytes = new AtomicLong();

    public Outbox(int capacity, long maxBytes) {
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.maxBytes = maxBytes;
    }

    /** Waits for room; gives up with {@link OutboxClosedException} once {@code stopped} says so (checked first). */
    public void put(Entry entry, BooleanSupplier stopped) throws InterruptedException {
        if (stopped.getAsBoolean()) {
            throw new OutboxClosedException(); // not only when full: a reader must not feed a writer that is gone
        }
        int size = entry instanceof Event event ? event.approxBytes() : 0;
        // one entry bigger than the whole budget still goes through, alone
        while (size > 0 && bytes.get() + size > maxBytes && !queue.isEmpty()) {
            if (stopped.getAsBoolean()) {
                throw new OutboxClosedException();
            }
            LockSupport.parkNanos(200_000);
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
        bytes.addAndGet(size);
        while (!queue.offer(entry, 100, TimeUnit.MILLISECONDS)) {
            if (stopped.getAsBoolean()) {
                throw new OutboxClosedException();
            }
        }
    }

    public Entry poll(long timeoutNanos) throws InterruptedException {
        Entry entry = timeoutNanos <= 0 ? queue.poll() : queue.poll(timeoutNanos, TimeUnit.NANOSECONDS);
        if (entry instanceof Event event) {
            bytes.addAndGet(-event.approxBytes());
        }
        return entry;
    }

    public int size() {
        return queue.size();
    }

    /** The writer is gone: the reader must stop too. */
    public static final class OutboxClosedException extends RuntimeException {
        public OutboxClosedException() {
            super("the Kafka writer stopped", null, false, false);
        }
    }
}
