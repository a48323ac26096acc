package io.ferry.capture.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.capture.CaptureMetrics;
import io.ferry.schemas.EventKind;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutboxSinkRepublishedTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void onlyTheEventOfABlockThatCarriedTheRepublishTimeIsMarkedAsARepublicationWithThatTime() throws Exception {
        Outbox outbox = new Outbox(16, 1024 * 1024);
        OutboxSink sink = new OutboxSink("eu-1", 0, 1024 * 1024, outbox, () -> false, new CaptureMetrics(new SimpleMeterRegistry(), "eu-1"));
        sink.replid("8de1787ba490483314a4d30f1c628bc5025eb761");
        sink.sourceTime(1_700_000_000_123L, true);
        sink.publish(EventKind.TRANSACTION, 0, List.<byte[][]>of(new byte[][] {b("SET"), b("k"), b("v")}), List.of(b("k")), 100, 0);
        sink.publish(EventKind.COMMAND, 0, List.<byte[][]>of(new byte[][] {b("INCR"), b("n")}), List.of(b("n")), 120, 0);
        sink.sourceTime(1_700_000_000_456L, false);
        sink.publish(EventKind.COMMAND, 0, List.<byte[][]>of(new byte[][] {b("SET"), b("k"), b("w")}), List.of(b("k")), 140, 0);

        Outbox.Event copy = (Outbox.Event) outbox.poll(0);
        Outbox.Event client = (Outbox.Event) outbox.poll(0);
        Outbox.Event repair = (Outbox.Event) outbox.poll(0);
        assertTrue(copy.republished());
        assertEquals(1_700_000_000_123L, copy.event().getCaptureTimeMillis().toEpochMilli());
        assertFalse(client.republished(), "the marker holds for one block only");
        assertFalse(repair.republished(), "an ordinary repair carries its time only");
        assertEquals(1_700_000_000_456L, repair.event().getCaptureTimeMillis().toEpochMilli());
    }
}
