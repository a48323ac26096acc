package io.ferry.capture.publish;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.SnapshotChunk;
import io.ferry.schemas.SourcePosition;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChangeEventEncoderTest {

    private static ByteBuffer b(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    private static ChangeEvent command(String value) {
        return new ChangeEvent("a", new SourcePosition("replid", 42L, 0), EventKind.COMMAND, 0,
                List.of(new Command("SET", List.of(b("k"), b(value)))), List.of(b("k")), Instant.ofEpochMilli(1_700_000_000_123L), null, null);
    }

    @Test
    void writesTheSameBytesAsTheSerdeAndReusesNothingVisible() {
        AvroSerde<ChangeEvent> serde = AvroSerde.changeEvents();
        ChangeEventEncoder encoder = new ChangeEventEncoder();
        ChangeEvent big = command("x".repeat(2 * 1024 * 1024));
        ChangeEvent chunk = new ChangeEvent("a", new SourcePosition("replid", 7L, 3), EventKind.SNAPSHOT_CHUNK, 3, List.of(), List.of(b("h")),
                Instant.ofEpochMilli(5), new SnapshotChunk(b("h"), 0, 1, 99L, b("dump")), null);
        byte[] first = encoder.encode(command("one"));
        for (ChangeEvent event : List.of(command("two"), big, chunk, command("three"))) {
            byte[] bytes = encoder.encode(event);
            assertArrayEquals(serde.encode(event), bytes);
            assertEquals(event, serde.decode(bytes));
        }
        assertEquals(command("one"), serde.decode(first), "an earlier result is not overwritten by later events");
    }
}
