package io.ferry.capture.publish;

import io.ferry.schemas.ChangeEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;

/**
 * Writes change events in the same Avro single-object encoding as {@code AvroSerde} (C3 01, the
 * schema's 8-byte fingerprint, the body), but with the header computed once and the buffered encoder
 * and output buffer reused: the writer thread encodes every event, so per-event buffers add up.
 */
final class ChangeEventEncoder {

    /** A buffer that grew past this for one big event is not kept. */
    private static final int KEEP_BYTES = 1024 * 1024;
    private static final byte[] HEADER = header(ChangeEvent.getClassSchema());

    @SuppressWarnings("unchecked")
    private final DatumWriter<ChangeEvent> writer = (DatumWriter<ChangeEvent>) SpecificData.get().createDatumWriter(ChangeEvent.getClassSchema());
    private ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
    private BinaryEncoder encoder;

    byte[] encode(ChangeEvent event) {
        out.reset();
        out.write(HEADER, 0, HEADER.length);
        encoder = EncoderFactory.get().binaryEncoder(out, encoder);
        try {
            writer.write(event, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode a change event", e);
        }
        byte[] bytes = out.toByteArray();
        if (bytes.length > KEEP_BYTES) {
            out = new ByteArrayOutputStream(4096);
            encoder = null;
        }
        return bytes;
    }

    private static byte[] header(Schema schema) {
        return ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN)
                .put((byte) 0xC3).put((byte) 0x01)
                .putLong(SchemaNormalization.parsingFingerprint64(schema))
                .array();
    }
}
