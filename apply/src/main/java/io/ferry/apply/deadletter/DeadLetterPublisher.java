package io.ferry.apply.deadletter;

import io.ferry.apply.metrics.ApplyMetrics;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Writes what could not be applied to {@code ferry.<applier>.deadletters} and counts it by reason. */
public final class DeadLetterPublisher {

    private static final Logger LOG = LoggerFactory.getLogger(DeadLetterPublisher.class);

    private final Producer<byte[], byte[]> producer;
    private final String applier;
    private final String topic;
    private final AvroSerde<DeadLetter> serde = AvroSerde.deadLetters();
    private final ApplyMetrics metrics;

    public DeadLetterPublisher(Producer<byte[], byte[]> producer, String applier, ApplyMetrics metrics) {
        this.producer = producer;
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
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, null, serde.encode(letter));
        record.headers().add(ReplicationPolicy.ORIGIN_HEADER, peer.getBytes(StandardCharsets.UTF_8));
        producer.send(record, (meta, e) -> {
            if (e != null) {
                LOG.error("could not write dead letter for {}-{}@{} to {}: {}", sourceTopic, partition,
                        rejection.kafkaOffset(), topic, e.toString());
            }
        });
        metrics.peer(peer).deadLetter(rejection.reason());
        LOG.warn("dead letter {} from {}-{}@{}: {}", rejection.reason(), sourceTopic, partition, rejection.kafkaOffset(),
                rejection.error());
    }
}
