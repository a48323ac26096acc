package io.ferry.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.junit.jupiter.api.Test;

/** Records written by the first released Ferry must stay readable by every later one. */
class SchemaCompatibilityTest {

    private static final List<String> SHARED = List.of("SourcePosition", "Command", "EventKind", "SnapshotChunk", "Heartbeat");

    private static Schema v1(String name) throws IOException {
        Schema.Parser parser = new Schema.Parser();
        for (String shared : SHARED) {
            if (!shared.equals(name)) {
                parse(parser, shared);
            }
        }
        return parse(parser, name);
    }

    private static Schema parse(Schema.Parser parser, String name) throws IOException {
        try (InputStream in = SchemaCompatibilityTest.class.getResourceAsStream("/schemas/v1/" + name + ".avsc")) {
            return parser.parse(in);
        }
    }

    @Test
    void everyCurrentSchemaReadsWhatVersionOneWrote() throws IOException {
        Map<String, Schema> current = Map.of(
                "ChangeEvent", ChangeEvent.getClassSchema(),
                "CapturePosition", CapturePosition.getClassSchema(),
                "DeadLetter", DeadLetter.getClassSchema(),
                "Conflict", Conflict.getClassSchema());
        for (Map.Entry<String, Schema> entry : current.entrySet()) {
            var result = SchemaCompatibility.checkReaderWriterCompatibility(entry.getValue(), v1(entry.getKey()));
            assertEquals(SchemaCompatibilityType.COMPATIBLE, result.getType(),
                    entry.getKey() + " is no longer backward compatible with v1: " + result.getDescription());
        }
    }

    @Test
    void schemaFilesShipInsideTheJarForRegistryFreeDecoding() {
        assertTrue(ChangeEvent.class.getResource("/io/ferry/schemas/avro/ChangeEvent.avsc") != null);
    }
}
