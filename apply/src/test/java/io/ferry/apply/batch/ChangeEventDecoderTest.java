package io.ferry.apply.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.Heartbeat;
import io.ferry.schemas.SourcePosition;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class ChangeEventDecoderTest {

    private final AvroSerde<ChangeEvent> serde = AvroSerde.changeEvents();
    private final ChangeEventDecoder decoder = new ChangeEventDecoder();

    private static ChangeEvent event(int i) {
        return ChangeEvent.newBuilder().setOrigin("B").setPosition(new SourcePosition("r", 100L + i, i % 3)).setKind(EventKind.TRANSACTION)
                .setDb(i % 3).setCommands(List.of(new Command("SET", List.of(ByteBuffer.wrap(("k" + i).getBytes(StandardCharsets.UTF_8)),
                        ByteBuffer.wrap(new byte[i * 7]))), new Command("INCR", List.of(ByteBuffer.wrap("n".getBytes(StandardCharsets.UTF_8))))))
                .setKeys(List.of(ByteBuffer.wrap(("k" + i).getBytes(StandardCharsets.UTF_8))))
                .setCaptureTimeMillis(Instant.ofEpochMilli(1_700_000_000_000L + i)).build();
    }

    @Test
    void theHeaderIsTheOneTheSerdeWrites() {
        byte[] encoded = serde.encode(event(1));
        assertArrayEquals(Arrays.copyOf(encoded, 10), ChangeEventDecoder.header(ChangeEvent.getClassSchema()));
    }

    @Test
    void decodesWhatTheSerdeDecodesRecordAfterRecord() {
        for (int i = 0; i < 50; i++) {
            byte[] encoded = serde.encode(event(i));
            assertEquals(serde.decode(encoded), decoder.decode(encoded));
        }
        ChangeEvent beat = ChangeEvent.newBuilder().setOrigin("B").setPosition(new SourcePosition("r", 5L, 0)).setKind(EventKind.HEARTBEAT)
                .setDb(0).setCommands(List.of()).setKeys(List.of()).setCaptureTimeMillis(Instant.ofEpochMilli(1_700_000_000_000L))
                .setHeartbeat(new Heartbeat(7L, 5L)).build();
        assertEquals(beat, decoder.decode(serde.encode(beat)));
    }

    @Test
    void badBytesAreRejectedAsBefore() {
        byte[] encoded = serde.encode(event(3));
        assertThrows(SerializationException.class, () -> decoder.decode(null));
        assertThrows(SerializationException.class, () -> decoder.decode(new byte[] {1, 2, 3}));
        assertThrows(SerializationException.class, () -> decoder.decode(Arrays.copyOf(encoded, encoded.length - 3)));
        byte[] otherSchema = encoded.clone();
        otherSchema[5] ^= 0x55;
        assertThrows(SerializationException.class, () -> decoder.decode(otherSchema));
        assertEquals(event(3), decoder.decode(encoded)); // a failure leaves the decoder usable
    }
}
