package io.ferry.apply.batch;

import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import java.io.IOException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;

/**
 * Decodes change events on the apply hot path. A record in the current schema's single-object
 * encoding (C3 01, the schema's 64-bit fingerprint, body) is read straight from the byte array by a
 * reused buffered {@link BinaryDecoder}; Avro's {@code BinaryMessageDecoder} instead reads every record
 * through an unbuffered stream decoder, which was the apply agent's top CPU cost. Anything else
 * (another schema, malformed bytes, trailing garbage) goes to {@link AvroSerde}, which decodes it or
 * names what is wrong, exactly as before. Not thread-safe: one per {@link BatchBuilder}.
 */
public final class ChangeEventDecoder {

    private static final int HEADER_LENGTH = 10;

    private final AvroSerde<ChangeEvent> fallback = AvroSerde.changeEvents();
    private final SpecificDatumReader<ChangeEvent> reader;
    private final byte[] header;
    private BinaryDecoder decoder;

    public ChangeEventDecoder() {
        Schema schema = ChangeEvent.getClassSchema();
        this.reader = new SpecificDatumReader<>(schema, schema, SpecificData.get());
        this.header = header(schema);
    }

    /** The single-object header of {@code schema}: C3 01 and the little-endian parsing fingerprint. */
    static byte[] header(Schema schema) {
        long fingerprint = SchemaNormalization.parsingFingerprint64(schema);
        byte[] bytes = new byte[HEADER_LENGTH];
        bytes[0] = (byte) 0xC3;
        bytes[1] = (byte) 0x01;
        for (int i = 0; i < 8; i++) {
            bytes[2 + i] = (byte) (fingerprint >>> (8 * i));
        }
        return bytes;
    }

    /** Decodes one record; throws {@link org.apache.kafka.common.errors.SerializationException} when it cannot. */
    public ChangeEvent decode(byte[] bytes) {
        if (bytes != null && bytes.length > HEADER_LENGTH && hasHeader(bytes)) {
            try {
                decoder = DecoderFactory.get().binaryDecoder(bytes, HEADER_LENGTH, bytes.length - HEADER_LENGTH, decoder);
                ChangeEvent event = reader.read(null, decoder);
                if (decoder.isEnd()) {
                    return event;
                }
            } catch (IOException | RuntimeException e) {
                // fall through: the serde reports what is wrong with these bytes
            }
        }
        return fallback.decode(bytes);
    }

    private boolean hasHeader(byte[] bytes) {
        for (int i = 0; i < HEADER_LENGTH; i++) {
            if (bytes[i] != header[i]) {
                return false;
            }
        }
        return true;
    }
}
