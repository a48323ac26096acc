package io.ferry.schemas;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;

/**
 * The schemas earlier Ferry releases wrote, shipped in this jar under {@code io/ferry/schemas/released/<version>/}.
 * A record names its writer's schema only by fingerprint (single-object encoding), so a decoder can
 * read what an earlier release wrote only if it holds that release's schema: {@link AvroSerde} registers
 * all of them, and Avro resolves each to the current schema.
 *
 * <p>{@code v1} is what every release up to and including commit 47e729e wrote: the schemas did not
 * change between the first release and that one. The current schemas ({@code src/main/avro}) add
 * conflict fields; ChangeEvent, CapturePosition and DeadLetter are unchanged, so they keep v1's
 * fingerprints and an apply agent of v1 still reads them.
 *
 * <p>When a release changes a schema, copy the schemas it replaces here as the next version first
 * (byte for byte, from the released commit) and list their files below.
 */
public final class ReleasedSchemas {

    /** Every released schema version with its files, oldest first; files in parse order (named types before use). */
    private static final Map<String, List<String>> FILES = Map.of(
            "v1", List.of("SourcePosition", "Command", "EventKind", "SnapshotChunk", "Heartbeat",
                    "ChangeEvent", "CapturePosition", "DeadLetter", "Conflict"));

    /** The released versions, oldest first. */
    public static final List<String> VERSIONS = List.of("v1");

    private static final Map<String, Map<String, Schema>> BY_VERSION = load();

    private ReleasedSchemas() {
    }

    /** Every named type of {@code version}, by simple name. */
    public static Map<String, Schema> version(String version) {
        Map<String, Schema> schemas = BY_VERSION.get(version);
        if (schemas == null) {
            throw new IllegalArgumentException("no released schema version '" + version + "'; known: " + VERSIONS);
        }
        return schemas;
    }

    /** The schema of the record named {@code simpleName} in every release that had it, oldest first. */
    public static List<Schema> of(String simpleName) {
        List<Schema> schemas = new ArrayList<>();
        for (String version : VERSIONS) {
            Schema schema = BY_VERSION.get(version).get(simpleName);
            if (schema != null) {
                schemas.add(schema);
            }
        }
        return Collections.unmodifiableList(schemas);
    }

    private static Map<String, Map<String, Schema>> load() {
        Map<String, Map<String, Schema>> all = new LinkedHashMap<>();
        for (String version : VERSIONS) {
            Schema.Parser parser = new Schema.Parser();
            Map<String, Schema> schemas = new LinkedHashMap<>();
            for (String name : FILES.get(version)) {
                String resource = "released/" + version + "/" + name + ".avsc";
                try (InputStream in = ReleasedSchemas.class.getResourceAsStream(resource)) {
                    if (in == null) {
                        throw new IllegalStateException("io/ferry/schemas/" + resource + " is missing from the ferry-schemas jar");
                    }
                    schemas.put(name, parser.parse(in));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read io/ferry/schemas/" + resource, e);
                }
            }
            all.put(version, Collections.unmodifiableMap(schemas));
        }
        return Collections.unmodifiableMap(all);
    }
}
