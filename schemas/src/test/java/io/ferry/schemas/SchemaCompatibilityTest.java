package io.ferry.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.api.Test;

/**
 * Records written by every earlier release stay readable by this one, and what this one writes stays
 * readable by the previous release. Released versions: v1 only, which is what every release up to the
 * previous one (commit 47e729e) wrote; this release's schemas are the first change since.
 */
class SchemaCompatibilityTest {

    @Test
    void everyCurrentSchemaReadsWhatEveryReleaseWrote() {
        Map<String, Schema> v1 = FrozenSchemas.v1();
        for (String record : FrozenSchemas.RECORDS) {
            var result = SchemaCompatibility.checkReaderWriterCompatibility(FrozenSchemas.current(record), v1.get(record));
            assertEquals(SchemaCompatibilityType.COMPATIBLE, result.getType(),
                    record + " can no longer read what v1 wrote: " + result.getDescription());
        }
    }

    @Test
    void thePreviousReleaseReadsEveryCurrentRecordGivenItsWriterSchema() {
        Map<String, Schema> v1 = FrozenSchemas.v1();
        for (String record : FrozenSchemas.RECORDS) {
            var result = SchemaCompatibility.checkReaderWriterCompatibility(v1.get(record), FrozenSchemas.current(record));
            assertEquals(SchemaCompatibilityType.COMPATIBLE, result.getType(),
                    "a v1 reader can no longer read the current " + record + ": " + result.getDescription());
        }
    }

    @Test
    void changeEventsPositionsAndDeadLettersKeepThePreviousReleasesFingerprint() {
        // An apply agent of the previous release knows only its own fingerprints: a ChangeEvent with a
        // new fingerprint would be dead-lettered there, record after record. Conflicts changed: only
        // status and inspect read them, and an old one needs the writer schema (see PreviousReleaseWireTest).
        Map<String, Schema> v1 = FrozenSchemas.v1();
        for (String record : new String[] {"ChangeEvent", "CapturePosition", "DeadLetter"}) {
            assertEquals(SchemaNormalization.parsingFingerprint64(v1.get(record)),
                    SchemaNormalization.parsingFingerprint64(FrozenSchemas.current(record)), record + " changed on the wire");
        }
        assertNotEquals(SchemaNormalization.parsingFingerprint64(v1.get("Conflict")),
                SchemaNormalization.parsingFingerprint64(Conflict.getClassSchema()));
    }

    @Test
    void theJarShipsEveryReleasedSchemaByteForByte() throws IOException {
        assertEquals(List.of("v1"), ReleasedSchemas.VERSIONS);
        for (String name : FrozenSchemas.V1_FILES) {
            assertArrayEquals(bytes("/schemas/v1/" + name + ".avsc"), bytes("/io/ferry/schemas/released/v1/" + name + ".avsc"), name);
            assertEquals(FrozenSchemas.v1().get(name), ReleasedSchemas.version("v1").get(name), name);
        }
        for (String record : FrozenSchemas.RECORDS) {
            assertEquals(List.of(FrozenSchemas.v1().get(record)), ReleasedSchemas.of(record), record);
        }
        assertTrue(ReleasedSchemas.of("ConflictingWrite").isEmpty(), "ConflictingWrite is new in this release");
    }

    @Test
    void schemaFilesShipInsideTheJarForRegistryFreeDecoding() {
        assertNotNull(ChangeEvent.class.getResource("/io/ferry/schemas/avro/ChangeEvent.avsc"));
        assertNotNull(ChangeEvent.class.getResource("/io/ferry/schemas/avro/ConflictingWrite.avsc"));
    }

    private static byte[] bytes(String resource) throws IOException {
        try (InputStream in = SchemaCompatibilityTest.class.getResourceAsStream(resource)) {
            assertNotNull(in, resource);
            return in.readAllBytes();
        }
    }
}
