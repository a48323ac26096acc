package io.ferry.apply.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.Heartbeat;
import io.ferry.schemas.ReleasedSchemas;
import io.ferry.schemas.SourcePosition;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;

/** Change events written by a capture of the previous release (schema v1) are applied by this one. */
class PreviousReleaseChangeEventTest {

    private static final Map<String, Schema> V1 = ReleasedSchemas.version("v1");
    private static final String REPLID = "0123456789abcdef0123456789abcdef01234567";
    private static final long AT = 1_700_000_000_000L;

    private final ChangeEventDecoder decoder = new ChangeEventDecoder();

    private static ByteBuffer bytes(String text) {
        return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
    }

    private static GenericRecord v1Event(String kind, List<GenericRecord> commands) {
        GenericRecord position = new GenericData.Record(V1.get("SourcePosition"));
        position.put("replid", REPLID);
        position.put("offset", 830L);
        position.put("db", 2);
        GenericRecord event = new GenericData.Record(V1.get("ChangeEvent"));
        event.put("origin", "a");
        event.put("position", position);
        event.put("kind", new GenericData.EnumSymbol(V1.get("EventKind"), kind));
        event.put("db", 2);
        event.put("commands", commands);
        event.put("keys", commands.isEmpty() ? List.of() : List.of(bytes("counter")));
        event.put("captureTimeMillis", AT);
        return event;
    }

    private static GenericRecord v1Command(String name, ByteBuffer... args) {
        GenericRecord command = new GenericData.Record(V1.get("Command"));
        command.put("name", name);
        command.put("args", Arrays.asList(args));
        return command;
    }

    private static byte[] v1Encode(GenericRecord event) throws IOException {
        ByteBuffer buffer = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), V1.get("ChangeEvent")).encode(event);
        byte[] out = new byte[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    @Test
    void decodesATransactionThePreviousReleaseWrote() throws IOException {
        byte[] written = v1Encode(v1Event("TRANSACTION", List.of(
                v1Command("INCR", bytes("counter")),
                v1Command("SET", bytes("bin"), ByteBuffer.wrap(new byte[] {0, (byte) 0xc3, (byte) 0xff})))));

        ChangeEvent event = decoder.decode(written);

        assertEquals(ChangeEvent.newBuilder().setOrigin("a").setPosition(new SourcePosition(REPLID, 830L, 2))
                .setKind(EventKind.TRANSACTION).setDb(2)
                .setCommands(List.of(new Command("INCR", List.of(bytes("counter"))),
                        new Command("SET", List.of(bytes("bin"), ByteBuffer.wrap(new byte[] {0, (byte) 0xc3, (byte) 0xff})))))
                .setKeys(List.of(bytes("counter"))).setCaptureTimeMillis(Instant.ofEpochMilli(AT)).build(), event);
    }

    @Test
    void decodesAHeartbeatThePreviousReleaseWrote() throws IOException {
        GenericRecord beat = new GenericData.Record(V1.get("Heartbeat"));
        beat.put("sourceOffset", 900L);
        beat.put("capturedOffset", 830L);
        GenericRecord event = v1Event("HEARTBEAT", List.of());
        event.put("heartbeat", beat);

        assertEquals(new Heartbeat(900L, 830L), decoder.decode(v1Encode(event)).getHeartbeat());
    }

    @Test
    void theChangeEventSchemaKeptItsFingerprintSoV1RecordsTakeTheFastPath() throws IOException {
        // the ChangeEvent schema did not change since v1, so its records carry the current header and are
        // read by the reused buffered reader; a changed schema would go to AvroSerde's released schemas
        byte[] written = v1Encode(v1Event("COMMAND", List.of(v1Command("INCR", bytes("counter")))));
        assertArrayEquals(ChangeEventDecoder.header(ChangeEvent.getClassSchema()), Arrays.copyOf(written, 10));
        assertArrayEquals(ChangeEventDecoder.header(V1.get("ChangeEvent")), Arrays.copyOf(written, 10));
    }
}
