package io.ferry.apply.findings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.apply.deadletter.DeadLetterPublisher;
import io.ferry.apply.deadletter.Rejection;
import io.ferry.apply.metrics.ApplyMetrics;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.Command;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.ReplicationPolicy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

class FindingsOutboxTest {

    @Test
    void aJournalEntryGivesBackTheSameRecord() {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>("ferry.b.conflicts", null, new byte[] {0, 1, (byte) 0xff},
                new byte[] {9, 8, 7}, List.of(new org.apache.kafka.common.header.internals.RecordHeader("ferry-origin", new byte[] {65})));
        ProducerRecord<byte[], byte[]> back = FindingsOutbox.decode(FindingsOutbox.encode(record));
        assertEquals(record.topic(), back.topic());
        assertArrayEquals(record.key(), back.key());
        assertArrayEquals(record.value(), back.value());
        assertArrayEquals(new byte[] {65}, back.headers().lastHeader("ferry-origin").value());
        assertNull(FindingsOutbox.decode(FindingsOutbox.encode(new ProducerRecord<>("t", new byte[0]))).key());
    }

    @Test
    void aDeadLetterBiggerThanTheLimitKeepsItsOffsetReasonAndKeyAndSaysWhatWasLeftOut() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        int limit = 100_000;
        FindingsOutbox outbox = new FindingsOutbox(producer, null, "b", limit);
        DeadLetterPublisher publisher = new DeadLetterPublisher(outbox, "b", new ApplyMetrics(new SimpleMeterRegistry(), "b", 1000));
        byte[] big = new byte[limit * 2];
        Command command = new Command("SET", List.of(ByteBuffer.wrap("key".getBytes(StandardCharsets.UTF_8)), ByteBuffer.wrap(big)));
        publisher.publish("a", "ferry.a.changes", 0, new Rejection(42, "OOM", "OOM command not allowed", null, command, big));

        assertEquals(1, producer.history().size());
        byte[] value = producer.history().get(0).value();
        assertTrue(value.length < limit, "sent record of " + value.length + " bytes fits the limit");
        DeadLetter letter = AvroSerde.deadLetters().decode(value);
        assertEquals(42, letter.getKafkaOffset());
        assertEquals("OOM", letter.getReason());
        assertEquals("SET", letter.getCommand().getName());
        assertEquals(List.of(ByteBuffer.wrap("key".getBytes(StandardCharsets.UTF_8))), letter.getCommand().getArgs());
        assertNull(letter.getRecord());
        assertTrue(letter.getError().contains("left out"), letter.getError());
        assertEquals(ReplicationPolicy.deadLetterTopic("b"), producer.history().get(0).topic());
    }
}
