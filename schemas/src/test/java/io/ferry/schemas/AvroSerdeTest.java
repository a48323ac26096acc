package io.ferry.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class AvroSerdeTest {

    private final AvroSerde<ChangeEvent> serde = AvroSerde.changeEvents();

    @Test
    void roundTripsBinaryArgumentsByteForByte() {
        byte[] binary = {0, (byte) 0xff, (byte) 0xc3, 1, '\r', '\n'};
        ChangeEvent event = ChangeEvent.newBuilder()
                .setOrigin("a")
                .setPosition(new SourcePosition("0123456789abcdef0123456789abcdef01234567", 42L, 3))
                .setKind(EventKind.COMMAND)
                .setDb(3)
                .setCommands(List.of(new Command("SET", List.of(ByteBuffer.wrap(binary), ByteBuffer.wrap(binary)))))
                .setKeys(List.of(ByteBuffer.wrap(binary)))
                .setCaptureTimeMillis(Instant.ofEpochMilli(1_700_000_000_000L))
                .build();
        byte[] bytes = serde.serialize("t", event);
        assertEquals((byte) 0xC3, bytes[0], "single-object encoding magic");
        assertEquals((byte) 0x01, bytes[1]);
        ChangeEvent back = serde.deserialize("t", bytes);
        assertEquals(event, back);
        ByteBuffer arg = back.getCommands().get(0).getArgs().get(1);
        byte[] copy = new byte[arg.remaining()];
        arg.get(copy);
        assertArrayEquals(binary, copy);
    }

    @Test
    void aRepublicationRequestCarriesWhatTheWinnerMustHaveAppliedFirst() {
        Conflict request = Conflict.newBuilder().setApplier("b").setOrigin("a").setType("RESYNC_GUARDED")
                .setKey(ByteBuffer.wrap(new byte[] {'k', 0}))
                .setPosition(new SourcePosition("0123456789abcdef0123456789abcdef01234567", 42L, 0))
                .setTimeMillis(Instant.ofEpochMilli(1_700_000_000_000L)).setPolicy("lww").setWinner("a").setResolution("REQUESTED")
                .setRepublishAfter(AppliedVector.EMPTY.with("b", 0, 812).with("c", 0, 77).asMap())
                .build();
        Conflict back = AvroSerde.conflicts().decode(AvroSerde.conflicts().encode(request));
        assertEquals(request, back);
        assertEquals(AppliedVector.decode("b:0=812,c:0=77".getBytes()), AppliedVector.of(back.getRepublishAfter()));
    }

    @Test
    void rejectsBytesThatAreNotAFerryRecordWithAClearMessage() {
        SerializationException e = assertThrows(SerializationException.class,
                () -> serde.deserialize("t", "hello".getBytes()));
        assertTrue(e.getMessage().contains("not a Ferry ChangeEvent"), e.getMessage());
    }
}
