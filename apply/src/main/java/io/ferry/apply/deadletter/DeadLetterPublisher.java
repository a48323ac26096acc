package io.ferry.apply.deadletter;

import io.ferry.apply.findings.FindingsOutbox;
import io.ferry.apply.metrics.ApplyMetrics;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.Command;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Writes what could not be applied to {@code ferry.<applier>.deadletters} and counts it by reason. */
public final class DeadLetterPublisher {

    private static final Logger LOG = LoggerFactory.getLogger(DeadLetterPublisher.class);

    private final FindingsOutbox outbox;
    private final String applier;
    private final String topic;
    private final AvroSerde<DeadLetter> serde = AvroSerde.deadLetters();
    private final ApplyMetrics metrics;

    public DeadLetterPublisher(FindingsOutbox outbox, String applier, ApplyMetrics metrics) {
        this.outbox = outbox;
        this.applier = applier;
        this.topic = ReplicationPolicy.deadLetterTopic(applier);
        this.metrics = metrics;
    }

    public void publish(String peer, String sourceTopic, int partition, Rejection rejection) {
        DeadLetter letter = DeadLetter.newBuilder()
                .setApplier(applier)
                .setOrigin(rejection.event() != null ? rejection.event().getOrigin() : null)
                .setTopic(sourceTopic)
                .setPartition(partition)
                .setKafkaOffset(rejection.kafkaOffset())
                .setPosition(rejection.event() != null ? rejection.event().getPosition() : null)
                .setReason(rejection.reason())
                .setError(rejection.error() == null ? rejection.reason() : rejection.error())
                .setCommand(rejection.command())
                .setRecord(rejection.record() != null ? ByteBuffer.wrap(rejection.record()) : null)
                .setTimeMillis(Instant.now())
                .build();
        byte[] value = serde.encode(letter);
        if (!outbox.fits(null, value)) {
            // Only the bulk goes: the offset still leads to the original record in the peer's topic.
            Command command = letter.getCommand();
            letter.setRecord(null);
            letter.setCommand(command == null ? null : new Command(command.getName(),
                    command.getArgs().isEmpty() ? List.of() : List.of(command.getArgs().get(0))));
            letter.setError(letter.getError() + " (record and arguments after the first left out: " + value.length
                    + " bytes exceed the dead-letter limit of " + outbox.maxRecordBytes() + ")");
            value = serde.encode(letter);
        }
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, null, value);
        record.headers().add(ReplicationPolicy.ORIGIN_HEADER, peer.getBytes(StandardCharsets.UTF_8));
        outbox.send(record);
        metrics.peer(peer).deadLetter(rejection.reason());
        LOG.warn("dead letter {} from {}-{}@{}: {}", rejection.reason(), sourceTopic, partition, rejection.kafkaOffset(),
                rejection.error());
    }
}
