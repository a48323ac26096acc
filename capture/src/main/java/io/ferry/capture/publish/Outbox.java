package io.ferry.capture.publish;

import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.SourcePosition;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The bounded queue between the stream reader and the Kafka writer. A full outbox blocks the reader
 * (Redis then buffers the stream for us), never drops.
 */
public final class Outbox {

    /** What the writer receives, in stream order. */
    public sealed interface Entry {
    }

    /**
     * An event to publish. {@code resumable} is false for snapshot events before SNAPSHOT_END: a
     * position inside an unfinished snapshot must never be committed as a place to resume from.
     */
    public record Event(ChangeEvent event, boolean resumable) implements Entry {
    }

    /** The stream advanced without an event (PING, SELECT, filtered commands, echoes). */
    public record Advance(SourcePosition position) implements Entry {
    }

    /** Commit what is open and stop. */
    public record Stop() implements Entry {
    }

    private final BlockingQueue<Entry> queue;

    public Outbox(int capacity) {
        queue = new ArrayBlockingQueue<>(capacity);
    }

    /** Waits for room; gives up with {@link OutboxClosedException} once {@code stopped} says so. */
    public void put(Entry entry, BooleanSupplier stopped) throws InterruptedException {
        while (!queue.offer(entry, 100, TimeUnit.MILLISECONDS)) {
            if (stopped.getAsBoolean()) {
                throw new OutboxClosedException();
            }
        }
    }

    public Entry poll(long timeoutNanos) throws InterruptedException {
        return timeoutNanos <= 0 ? queue.poll() : queue.poll(timeoutNanos, TimeUnit.NANOSECONDS);
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
