package io.ferry.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.junit.jupiter.api.Test;

/**
 * Both directions of a rolling upgrade, on real bytes. The previous release's writers and readers are
 * stood in for by Avro's generic single-object encoder and decoder over its schemas (v1), which is
 * what its {@code AvroSerde} was: a {@code BinaryMessageEncoder}/{@code BinaryMessageDecoder} over the
 * schemas it was built with, and no others.
 */
class PreviousReleaseWireTest {

    private static final Map<String, Schema> V1 = FrozenSchemas.v1();
    private static final String REPLID = "0123456789abcdef0123456789abcdef01234567";
    private static final long AT = 1_700_000_000_000L;

    private static ByteBuffer bytes(String text) {
        return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] v1Encode(String record, GenericRecord value) throws IOException {
        ByteBuffer buffer = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), V1.get(record)).encode(value);
        byte[] out = new byte[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    private static GenericRecord v1Position(long offset, int db) {
        GenericRecord position = new GenericData.Record(V1.get("SourcePosition"));
        position.put("replid", REPLID);
        position.put("offset", offset);
        position.put("db", db);
        return position;
    }

    private static GenericRecord v1Command(String name, String... args) {
        GenericRecord command = new GenericData.Record(V1.get("Command"));
        command.put("name", name);
        command.put("args", Arrays.stream(args).map(PreviousReleaseWireTest::bytes).toList());
        return command;
    }

    private static String text(ByteBuffer buffer) {
        return StandardCharsets.UTF_8.decode(buffer.duplicate()).toString();
    }

    @Test
    void conflictsThePreviousReleaseWroteDecodeWithTheNewFieldsAtTheirDefaults() throws IOException {
        GenericRecord old = new GenericData.Record(V1.get("Conflict"));
        old.put("applier", "b");
        old.put("origin", "a");
        old.put("type", "CONDITIONAL_WRITE");
        old.put("key", bytes("lock"));
        old.put("position", v1Position(7L, 2));
        old.put("command", v1Command("SETNX", "lock", "a"));
        old.put("timeMillis", AT);

        Conflict conflict = AvroSerde.conflicts().decode(v1Encode("Conflict", old));

        assertEquals("b", conflict.getApplier());
        assertEquals("a", conflict.getOrigin());
        assertEquals("CONDITIONAL_WRITE", conflict.getType());
        assertEquals("lock", text(conflict.getKey()));
        assertEquals(new SourcePosition(REPLID, 7L, 2), conflict.getPosition());
        assertEquals(new Command("SETNX", List.of(bytes("lock"), bytes("a"))), conflict.getCommand());
        assertEquals(Instant.ofEpochMilli(AT), conflict.getTimeMillis());
        assertEquals(0, conflict.getDb());
        assertNull(conflict.getWrite());
        assertNull(conflict.getOther());
        assertEquals("", conflict.getPolicy());
        assertNull(conflict.getWinner());
        assertEquals("RECORDED", conflict.getResolution());
        assertNull(conflict.getRepublishAfter());
    }

    @Test
    void changeEventsPositionsAndDeadLettersThePreviousReleaseWroteDecode() throws IOException {
        GenericRecord event = new GenericData.Record(V1.get("ChangeEvent"));
        event.put("origin", "a");
        event.put("position", v1Position(1234L, 3));
        event.put("kind", new GenericData.EnumSymbol(V1.get("EventKind"), "TRANSACTION"));
        event.put("db", 3);
        event.put("commands", List.of(v1Command("SET", "k", "v"), v1Command("INCR", "n")));
        event.put("keys", List.of(bytes("k"), bytes("n")));
        event.put("captureTimeMillis", AT);
        assertEquals(ChangeEvent.newBuilder().setOrigin("a").setPosition(new SourcePosition(REPLID, 1234L, 3))
                        .setKind(EventKind.TRANSACTION).setDb(3)
                        .setCommands(List.of(new Command("SET", List.of(bytes("k"), bytes("v"))), new Command("INCR", List.of(bytes("n")))))
                        .setKeys(List.of(bytes("k"), bytes("n"))).setCaptureTimeMillis(Instant.ofEpochMilli(AT)).build(),
                AvroSerde.changeEvents().decode(v1Encode("ChangeEvent", event)));

        GenericRecord position = new GenericData.Record(V1.get("CapturePosition"));
        position.put("instance", "a");
        position.put("shard", 0);
        position.put("position", v1Position(99L, 1));
        position.put("committedAtMillis", AT);
        assertEquals(new CapturePosition("a", 0, new SourcePosition(REPLID, 99L, 1), Instant.ofEpochMilli(AT)),
                AvroSerde.capturePositions().decode(v1Encode("CapturePosition", position)));

        GenericRecord dead = new GenericData.Record(V1.get("DeadLetter"));
        dead.put("applier", "b");
        dead.put("topic", "ferry.a.changes");
        dead.put("partition", 0);
        dead.put("kafkaOffset", 12L);
        dead.put("reason", "UNDECODABLE");
        dead.put("error", "not a Ferry ChangeEvent");
        dead.put("record", ByteBuffer.wrap(new byte[] {1, 2, (byte) 0xff}));
        dead.put("timeMillis", AT);
        DeadLetter letter = AvroSerde.deadLetters().decode(v1Encode("DeadLetter", dead));
        assertNull(letter.getOrigin());
        assertEquals("UNDECODABLE", letter.getReason());
        assertArrayEquals(new byte[] {1, 2, (byte) 0xff}, letter.getRecord().array());
    }

    @Test
    void everySerdeKnowsTheFingerprintsOfEveryRelease() {
        long currentConflict = SchemaNormalization.parsingFingerprint64(Conflict.getClassSchema());
        long v1Conflict = SchemaNormalization.parsingFingerprint64(V1.get("Conflict"));
        assertEquals(List.of(currentConflict, v1Conflict), List.copyOf(AvroSerde.conflicts().fingerprints()));
        // unchanged since v1: one fingerprint serves both
        assertEquals(Set.of(SchemaNormalization.parsingFingerprint64(V1.get("ChangeEvent"))), AvroSerde.changeEvents().fingerprints());
        assertEquals(Set.of(SchemaNormalization.parsingFingerprint64(V1.get("CapturePosition"))), AvroSerde.capturePositions().fingerprints());
        assertEquals(Set.of(SchemaNormalization.parsingFingerprint64(V1.get("DeadLetter"))), AvroSerde.deadLetters().fingerprints());
    }

    @Test
    void aPreviousReleaseReaderDecodesCurrentChangeEventsAndPositionsWithOnlyItsOwnSchemas() throws IOException {
        // new capture, old apply agent: the old decoder is given nothing but the v1 schema
        ChangeEvent current = ChangeEvent.newBuilder().setOrigin("a").setPosition(new SourcePosition(REPLID, 1234L, 0))
                .setKind(EventKind.COMMAND).setDb(0)
                .setCommands(List.of(new Command("SET", List.of(bytes("k"), ByteBuffer.wrap(new byte[] {0, (byte) 0xff})))))
                .setKeys(List.of(bytes("k"))).setCaptureTimeMillis(Instant.ofEpochMilli(AT)).build();
        GenericRecord event = new BinaryMessageDecoder<GenericRecord>(GenericData.get(), V1.get("ChangeEvent"))
                .decode(AvroSerde.changeEvents().encode(current));
        assertEquals("a", event.get("origin").toString());
        assertEquals("COMMAND", event.get("kind").toString());
        assertEquals(1234L, ((GenericRecord) event.get("position")).get("offset"));
        GenericRecord command = (GenericRecord) ((List<?>) event.get("commands")).get(0);
        assertEquals("SET", command.get("name").toString());
        assertEquals(ByteBuffer.wrap(new byte[] {0, (byte) 0xff}), ((List<?>) command.get("args")).get(1));
        assertEquals(AT, event.get("captureTimeMillis"));

        CapturePosition position = new CapturePosition("a", 0, new SourcePosition(REPLID, 99L, 1), Instant.ofEpochMilli(AT));
        GenericRecord read = new BinaryMessageDecoder<GenericRecord>(GenericData.get(), V1.get("CapturePosition"))
                .decode(AvroSerde.capturePositions().encode(position));
        assertEquals("a", read.get("instance").toString());
        assertEquals(99L, ((GenericRecord) read.get("position")).get("offset"));
        assertEquals(1, ((GenericRecord) read.get("position")).get("db"));
    }

    @Test
    void aPreviousReleaseReaderNeedsTheWriterSchemaForCurrentConflicts() throws IOException {
        Conflict current = Conflict.newBuilder().setApplier("b").setOrigin("a").setType("VALUE").setKey(bytes("user:1"))
                .setPosition(new SourcePosition(REPLID, 7L, 0)).setCommand(new Command("SET", List.of(bytes("user:1"), bytes("x"))))
                .setTimeMillis(Instant.ofEpochMilli(AT)).setDb(0)
                .setWrite(new ConflictingWrite("a", 812L, new SourcePosition(REPLID, 7L, 0), AT, new Command("SET", List.of(bytes("user:1"), bytes("x")))))
                .setOther(new ConflictingWrite("b", 77L, null, AT - 5, new Command("SET", List.of(bytes("user:1"), bytes("y")))))
                .setPolicy("lww").setWinner("a").setResolution("SKIPPED").build();
        byte[] bytes = AvroSerde.conflicts().encode(current);

        BinaryMessageDecoder<GenericRecord> old = new BinaryMessageDecoder<>(GenericData.get(), V1.get("Conflict"));
        assertThrows(MissingSchemaException.class, () -> old.decode(bytes), "the fingerprint changed: a v1 reader alone cannot");

        old.addSchema(Conflict.getClassSchema());
        GenericRecord read = old.decode(bytes);
        assertEquals("VALUE", read.get("type").toString());
        assertEquals("a", read.get("origin").toString());
        assertEquals(bytes("user:1"), read.get("key"));
        assertEquals(7L, ((GenericRecord) read.get("position")).get("offset"));
        assertEquals("SET", ((GenericRecord) read.get("command")).get("name").toString());
        assertEquals(AT, read.get("timeMillis"));
        assertNull(read.getSchema().getField("policy"), "fields added since v1 are left out, not misread");
    }
}
