package io.ferry.cli.inspect;

import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.CapturePosition;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.DeadLetter;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/**
 * Decodes the value of a record from any Ferry topic. Ferry writes Avro single-object encoding
 * (C3 01, 8-byte little-endian schema fingerprint, body), so the fingerprint says which record type it
 * is: one decoder reads changes, offsets, dead-letter and conflicts topics without being told which,
 * including records earlier releases wrote (their schemas ship in ferry-schemas).
 */
public final class RecordDecoder {

    /** What a record value turned out to be. */
    public sealed interface Decoded {
    }

    /** A Ferry record: a {@link ChangeEvent}, {@link CapturePosition}, {@link DeadLetter} or {@link Conflict}. */
    public record Known(SpecificRecord record) implements Decoded {
    }

    /** A null value: a compaction tombstone. */
    public record Tombstone() implements Decoded {
    }

    /** Bytes that are not a Ferry record this version knows, with why. */
    public record Undecodable(String reason, byte[] bytes) implements Decoded {
    }

    private static final byte MAGIC_0 = (byte) 0xC3;
    private static final byte MAGIC_1 = (byte) 0x01;
    private static final int HEADER_LENGTH = 10;

    private final Map<Long, AvroSerde<? extends SpecificRecord>> byFingerprint = new LinkedHashMap<>();

    public RecordDecoder() {
        register(AvroSerde.changeEvents());
        register(AvroSerde.capturePositions());
        register(AvroSerde.deadLetters());
        register(AvroSerde.conflicts());
    }

    /** Every fingerprint the serde reads: the current schema's and those of earlier releases. */
    private void register(AvroSerde<? extends SpecificRecord> serde) {
        for (long fingerprint : serde.fingerprints()) {
            byFingerprint.put(fingerprint, serde);
        }
    }

    /** True for a capture's heartbeat event; the kind header says so without decoding the record. */
    public static boolean isHeartbeat(org.apache.kafka.common.header.Headers headers, byte[] value) {
        org.apache.kafka.common.header.Header kind = headers.lastHeader(io.ferry.schemas.ReplicationPolicy.KIND_HEADER);
        if (kind != null && kind.value() != null) {
            return io.ferry.schemas.EventKind.HEARTBEAT.name().equals(new String(kind.value(), java.nio.charset.StandardCharsets.UTF_8));
        }
        return HEARTBEAT_DECODER.decode(value) instanceof Known known && known.record() instanceof ChangeEvent event
                && event.getKind() == io.ferry.schemas.EventKind.HEARTBEAT;
    }

    private static final RecordDecoder HEARTBEAT_DECODER = new RecordDecoder();

    public Decoded decode(byte[] value) {
        if (value == null) {
            return new Tombstone();
        }
        if (value.length < HEADER_LENGTH || value[0] != MAGIC_0 || value[1] != MAGIC_1) {
            return new Undecodable("not Avro single-object encoded (no C3 01 header): not written by Ferry", value);
        }
        long fingerprint = 0;
        for (int i = 9; i >= 2; i--) {
            fingerprint = (fingerprint << 8) | (value[i] & 0xffL);
        }
        AvroSerde<? extends SpecificRecord> serde = byFingerprint.get(fingerprint);
        if (serde == null) {
            return new Undecodable(String.format("unknown schema fingerprint %016x (written by another Ferry version?)", fingerprint), value);
        }
        try {
            return new Known(serde.decode(value));
        } catch (RuntimeException e) {
            return new Undecodable(e.getMessage(), value);
        }
    }
}
