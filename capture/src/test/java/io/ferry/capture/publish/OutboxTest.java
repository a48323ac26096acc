package io.ferry.capture.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class OutboxTest {

    @Test
    void aStoppedWriterRefusesEntriesEvenWithRoomLeft() throws InterruptedException {
        Outbox outbox = new Outbox(100, 1 << 20);
        AtomicBoolean writerGone = new AtomicBoolean();
        outbox.put(new Outbox.Stop(false), writerGone::get);
        assertEquals(1, outbox.size());
        writerGone.set(true);
        assertThrows(Outbox.OutboxClosedException.class, () -> outbox.put(new Outbox.Stop(false), writerGone::get));
        assertEquals(1, outbox.size(), "nothing queued for a writer that is gone");
    }

    @Test
    void aFullOutboxWaitsForRoomAndGivesUpWhenTheWriterStops() throws InterruptedException {
        Outbox outbox = new Outbox(1, 1 << 20);
        AtomicBoolean writerGone = new AtomicBoolean();
        outbox.put(new Outbox.Stop(false), writerGone::get);
        Thread stopper = new Thread(() -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            writerGone.set(true);
        });
        stopper.start();
        assertThrows(Outbox.OutboxClosedException.class, () -> outbox.put(new Outbox.Stop(true), writerGone::get));
        stopper.join();
        assertTrue(outbox.poll(0) instanceof Outbox.Stop stop && !stop.retire());
    }
}
