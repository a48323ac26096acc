package io.ferry.schemas;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.avro.Schema;
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
 */
public final class AvroSerde<T extends SpecificRecord> implements Serde<T>, Serializer<T>, Deserializer<T> {

    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;
    private final Class<T> type;

    private AvroSerde(Class<T> type, Schema schema) {
        this.type = type;
        this.encoder = new BinaryMessageEncoder<>(SpecificData.get(), schema);
        this.decoder = new BinaryMessageDecoder<>(SpecificData.get(), schema);
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

    /** Lets this serde read records written with an older version of the schema. */
    public AvroSerde<T> withWriterSchema(Schema older) {
        decoder.addSchema(older);
        return this;
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
