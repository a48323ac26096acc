package io.ferry.topology.conflicts.view;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
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
 * Serdes of the conflict table's own records, in Avro single-object encoding like every Ferry topic
 * (C3 01, schema fingerprint, body), so its topic decodes with the schemas in topology/src/main/avro.
 */
public final class ConflictTableSerdes {

    private ConflictTableSerdes() {
    }

    public static Serde<ConflictTableKey> keys() {
        return new Single<>(ConflictTableKey.getClassSchema(), "ConflictTableKey");
    }

    public static Serde<ConflictTableRow> rows() {
        return new Single<>(ConflictTableRow.getClassSchema(), "ConflictTableRow");
    }

    public static Serde<ConflictObservation> observations() {
        return new Single<>(ConflictObservation.getClassSchema(), "ConflictObservation");
    }

    private static final class Single<T extends SpecificRecord> implements Serde<T>, Serializer<T>, Deserializer<T> {
        private final BinaryMessageEncoder<T> encoder;
        private final BinaryMessageDecoder<T> decoder;
        private final String name;

        Single(Schema schema, String name) {
            this.encoder = new BinaryMessageEncoder<>(SpecificData.get(), schema);
            this.decoder = new BinaryMessageDecoder<>(SpecificData.get(), schema);
            this.name = name;
        }

        @Override
        public byte[] serialize(String topic, T data) {
            if (data == null) {
                return null;
            }
            try {
                ByteBuffer buffer = encoder.encode(data);
                byte[] bytes = new byte[buffer.remaining()];
                buffer.get(bytes);
                return bytes;
            } catch (IOException e) {
                throw new SerializationException("cannot encode " + name + ": " + e.getMessage(), e);
            }
        }

        @Override
        public T deserialize(String topic, byte[] data) {
            if (data == null) {
                return null;
            }
            try {
                return decoder.decode(data);
            } catch (IOException | RuntimeException e) {
                throw new SerializationException("not a " + name + " (" + data.length + " bytes): " + e.getMessage(), e);
            }
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
        public void configure(Map<String, ?> configs, boolean isKey) {
        }

        @Override
        public void close() {
        }
    }
}
