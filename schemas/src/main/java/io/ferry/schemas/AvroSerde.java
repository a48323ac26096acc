package io.ferry.schemas;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serde for Ferry records in Avro single-object encoding (magic C3 01, 8-byte schema
 * fingerprint, body): self-describing, so no schema registry is needed to read a topic.
 *
 * <p>It writes the current schema and reads the current one and every {@link ReleasedSchemas released}
 * schema of its record type: the fingerprint picks the writer's schema, Avro resolves it to the
 * current one (fields added since get their defaults). A record whose fingerprint it does not know
 * (written by a later release that changed the schema) is refused with that fingerprint named.
 */
public final class AvroSerde<T extends SpecificRecord> implements Serde<T>, Serializer<T>, Deserializer<T> {

    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;
    private final Class<T> type;
    private final Set<Long> fingerprints = new LinkedHashSet<>();

    private AvroSerde(Class<T> type, Schema schema) {
        this.type = type;
        this.encoder = new BinaryMessageEncoder<>(SpecificData.get(), schema);
        this.decoder = new BinaryMessageDecoder<>(SpecificData.get(), schema);
        fingerprints.add(SchemaNormalization.parsingFingerprint64(schema));
        for (Schema released : ReleasedSchemas.of(schema.getName())) {
            withWriterSchema(released);
        }
    }

    public static AvroSerde<ChangeEvent> changeEvents() {
        return new AvroSerde<>(ChangeEvent.class, ChangeEvent.getClassSchema());
    }

    public static AvroSerde<CapturePosition> capturePositions() {
        return new AvroSerde<>(CapturePosition.class, CapturePosition.getClassSchema());
    }

    public static AvroSerde<DeadLetter> deadLetters() {
        return new AvroSerde<>(DeadLetter.class, DeadLetter.getClassSchema());
    }

    public static AvroSerde<Conflict> conflicts() {
        return new AvroSerde<>(Conflict.class, Conflict.getClassSchema());
    }

    /**
     * Lets this serde read records written with another version of the schema. One with the same
     * fingerprint as a schema already known changes nothing (it would read the same bytes the same way).
     */
    public AvroSerde<T> withWriterSchema(Schema older) {
        if (fingerprints.add(SchemaNormalization.parsingFingerprint64(older))) {
            decoder.addSchema(older);
        }
        return this;
    }

    /** The fingerprints of every writer schema this serde reads, the current schema's first. */
    public Set<Long> fingerprints() {
        return Collections.unmodifiableSet(fingerprints);
    }

    public byte[] encode(T value) {
        try {
            ByteBuffer buffer = encoder.encode(value);
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (IOException e) {
            throw new SerializationException("cannot encode " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    /** Decodes one record; throws {@link SerializationException} naming what is wrong with the bytes. */
    public T decode(byte[] bytes) {
        if (bytes == null) {
            throw new SerializationException("empty record where a " + type.getSimpleName() + " was expected");
        }
        try {
            return decoder.decode(bytes);
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("not a Ferry " + type.getSimpleName() + " (Avro single-object, "
                    + bytes.length + " bytes): " + e.getMessage(), e);
        }
    }

    @Override
    public byte[] serialize(String topic, T data) {
        return data == null ? null : encode(data);
    }

    @Override
    public T deserialize(String topic, byte[] data) {
        return data == null ? null : decode(data);
    }

    @Override
    public Serializer<T> serializer() {
        return this;
    }

    @Override
    public Deserializer<T> deserializer() {
        return this;
    }

    @Override
    public void configure(java.util.Map<String, ?> configs, boolean isKey) {
    }

    @Override
    public void close() {
    }

}
