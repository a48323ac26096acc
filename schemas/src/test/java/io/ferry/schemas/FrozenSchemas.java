package io.ferry.schemas;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;

/**
 * The released schemas as the tests keep them ({@code src/test/resources/schemas/<version>/}), apart
 * from the copies the jar ships, so a change to a shipped copy cannot go unnoticed. {@code v1} is
 * byte for byte what commit 47e729e, the previous release, had in {@code src/main/avro} (and what
 * every release before it had: the schemas did not change until this release).
 */
final class FrozenSchemas {

    /** The top-level records Ferry writes to Kafka. */
    static final List<String> RECORDS = List.of("ChangeEvent", "CapturePosition", "DeadLetter", "Conflict");

    /** The files of v1 in parse order (named types before their use). */
    static final List<String> V1_FILES = List.of("SourcePosition", "Command", "EventKind", "SnapshotChunk", "Heartbeat",
            "ChangeEvent", "CapturePosition", "DeadLetter", "Conflict");

    private FrozenSchemas() {
    }

    static Map<String, Schema> v1() {
        Schema.Parser parser = new Schema.Parser();
        Map<String, Schema> schemas = new LinkedHashMap<>();
        for (String name : V1_FILES) {
            try (InputStream in = FrozenSchemas.class.getResourceAsStream("/schemas/v1/" + name + ".avsc")) {
                schemas.put(name, parser.parse(in));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return schemas;
    }

    /** The current schema of a top-level record. */
    static Schema current(String record) {
        return switch (record) {
            case "ChangeEvent" -> ChangeEvent.getClassSchema();
            case "CapturePosition" -> CapturePosition.getClassSchema();
            case "DeadLetter" -> DeadLetter.getClassSchema();
            case "Conflict" -> Conflict.getClassSchema();
            default -> throw new IllegalArgumentException(record);
        };
    }
}
