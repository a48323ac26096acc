package io.ferry.cli.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.CapturePosition;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.ConflictingWrite;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.Heartbeat;
import io.ferry.schemas.ReleasedSchemas;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import io.ferry.schemas.StagedCommand;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class RecordRendererTest {

    static final String REPLID = "8c3f0a1b2c3d4e5f60718293a4b5c6d7e8f90123";
    static final Instant AT = Instant.parse("2026-11-21T11:02:03.123Z");
    final RecordRenderer renderer = new RecordRenderer();

    static ByteBuffer bytes(String text) {
        return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
    }

    static ChangeEvent.Builder event(EventKind kind) {
        return ChangeEvent.newBuilder().setOrigin("a").setKind(kind).setDb(0)
                .setPosition(new SourcePosition(REPLID, 1234L, 0)).setCaptureTimeMillis(AT);
    }

    static ConsumerRecord<byte[], byte[]> record(String topic, long offset, byte[] key, byte[] value, String origin) {
        return record(topic, offset, key, value, origin, null);
    }

    /** A record with the {@code ferry.applied} header too, unless {@code applied} is null. */
    static ConsumerRecord<byte[], byte[]> record(String topic, long offset, byte[] key, byte[] value, String origin, String applied) {
        RecordHeaders headers = new RecordHeaders();
        if (origin != null) {
            headers.add(ReplicationPolicy.ORIGIN_HEADER, origin.getBytes(StandardCharsets.UTF_8));
        }
        if (applied != null) {
            headers.add(ReplicationPolicy.APPLIED_HEADER, applied.getBytes(StandardCharsets.UTF_8));
        }
        return new ConsumerRecord<>(topic, 0, offset, 0L, TimestampType.CREATE_TIME, -1, -1, key, value, headers, Optional.empty());
    }

    @Test
    void rendersACommandWithOriginPositionAndEscapedArguments() {
        ChangeEvent set = event(EventKind.COMMAND).setCommands(List.of(new Command("SET",
                List.of(bytes("user:1"), ByteBuffer.wrap(new byte[] {'h', 'i', 0, (byte) 0xff}))))).build();
        String line = renderer.render(record("ferry.a.changes", 12, null, AvroSerde.changeEvents().encode(set), "a"));
        assertEquals("ferry.a.changes-0@12 origin=a COMMAND db=0 pos=8c3f0a1b:1234 at=2026-11-21T11:02:03.123Z"
                + "  SET \"user:1\" \"hi\\x00\\xff\"", line);
    }

    @Test
    void showsTheAppliedVectorHeaderAfterTheCaptureTime() {
        ChangeEvent set = event(EventKind.COMMAND).setCommands(List.of(new Command("SET", List.of(bytes("k"), bytes("v"))))).build();
        String line = renderer.render(record("ferry.a.changes", 12, null, AvroSerde.changeEvents().encode(set), "a", "c:0=77,b:0=812"));
        assertEquals("ferry.a.changes-0@12 origin=a COMMAND db=0 pos=8c3f0a1b:1234 at=2026-11-21T11:02:03.123Z"
                + " applied={b:0=812,c:0=77}  SET \"k\" \"v\"", line);
    }

    @Test
    void anEmptyAppliedVectorMeansNothingAppliedYetAndAMalformedOneIsShownAsItCame() {
        ChangeEvent beat = event(EventKind.HEARTBEAT).setHeartbeat(new Heartbeat(1234L, 1234L)).build();
        byte[] value = AvroSerde.changeEvents().encode(beat);
        assertTrue(renderer.render(record("ferry.a.changes", 1, null, value, "a", "")).contains(" at=2026-11-21T11:02:03.123Z applied={} source="));
        String malformed = renderer.render(record("ferry.a.changes", 2, null, value, "a", "b:0=x"));
        assertTrue(malformed.contains(" applied=malformed \"b:0=x\" source="), malformed);
    }

    @Test
    void rendersATransactionAsItsCommandsInOrder() {
        ChangeEvent tx = event(EventKind.TRANSACTION).setDb(3).setCommands(List.of(
                new Command("INCR", List.of(bytes("n"))), new Command("LPUSH", List.of(bytes("l"), bytes("x"))))).build();
        String line = renderer.render(record("ferry.a.changes", 13, null, AvroSerde.changeEvents().encode(tx), "a"));
        assertTrue(line.contains(" TRANSACTION db=3 "), line);
        assertTrue(line.endsWith("  INCR \"n\" ; LPUSH \"l\" \"x\""), line);
    }

    @Test
    void rendersAHeartbeatWithTheBytesItIsBehind() {
        ChangeEvent beat = event(EventKind.HEARTBEAT).setHeartbeat(new Heartbeat(1300L, 1234L)).build();
        String line = renderer.render(record("ferry.a.changes", 14, null, AvroSerde.changeEvents().encode(beat), "a"));
        assertTrue(line.endsWith("HEARTBEAT db=0 pos=8c3f0a1b:1234 at=2026-11-21T11:02:03.123Z source=1300 captured=1234 (66 bytes behind)"), line);
    }

    @Test
    void cutsLongArgumentsSoSnapshotPayloadsStayOnOneScreen() {
        ChangeEvent restore = event(EventKind.SNAPSHOT_KEY).setCommands(List.of(new Command("RESTORE",
                List.of(bytes("big"), bytes("0"), ByteBuffer.wrap(new byte[1000]))))).build();
        String line = new RecordRenderer(4).render(record("ferry.a.changes", 1, null, AvroSerde.changeEvents().encode(restore), "a"));
        assertTrue(line.endsWith("RESTORE \"big\" \"0\" \"\\x00\\x00\\x00\\x00\"…(+996 bytes)"), line);
    }

    @Test
    void rendersAStagedBigValueAsTheCommandItCarriesWithTheValuesSizeAndStage() {
        byte[] stage = ReplicationPolicy.stageKey("a", 0, 0, "big".getBytes(StandardCharsets.UTF_8));
        byte[][] eval = StagedCommand.eval(new byte[][] {"SET".getBytes(), "big".getBytes(), new byte[0], "KEEPTTL".getBytes()},
                List.of(new StagedCommand.Stage(2, 209_715_200L, stage)));
        List<ByteBuffer> args = java.util.Arrays.stream(eval).skip(1).map(ByteBuffer::wrap).toList();
        ChangeEvent set = event(EventKind.COMMAND).setCommands(List.of(new Command("EVAL", args))).build();
        String line = renderer.render(record("ferry.a.changes", 12, null, AvroSerde.changeEvents().encode(set), "a"));
        assertTrue(line.endsWith("  (staged) SET \"big\" <209715200 bytes from \"__ferry:stage:a:0:0:{big}\"> \"KEEPTTL\""), line);
    }

    @Test
    void saysWhenTheOriginHeaderAndTheEventDisagree() {
        ChangeEvent set = event(EventKind.COMMAND).setCommands(List.of(new Command("DEL", List.of(bytes("k"))))).build();
        String line = renderer.render(record("ferry.a.changes", 1, null, AvroSerde.changeEvents().encode(set), "b"));
        assertTrue(line.contains(" origin=b (event says a) "), line);
    }

    @Test
    void rendersCapturePositionsWithTheFullReplid() {
        CapturePosition position = new CapturePosition("a", 0, new SourcePosition(REPLID, 99L, 2), AT);
        String line = renderer.render(record("ferry.a.offsets", 5, "a/0".getBytes(StandardCharsets.UTF_8),
                AvroSerde.capturePositions().encode(position), null));
        assertEquals("ferry.a.offsets-0@5 POSITION key=\"a/0\" instance=a shard=0 replid=" + REPLID
                + " offset=99 db=2 committed=2026-11-21T11:02:03.123Z", line);
    }

    @Test
    void rendersTheAppliedVectorOfCapturePositions() {
        CapturePosition position = new CapturePosition("a", 0, new SourcePosition(REPLID, 99L, 2), AT);
        String line = renderer.render(record("ferry.a.offsets", 6, "a/0".getBytes(StandardCharsets.UTF_8),
                AvroSerde.capturePositions().encode(position), null, "b:0=5"));
        assertTrue(line.endsWith(" committed=2026-11-21T11:02:03.123Z applied={b:0=5}"), line);
    }

    @Test
    void rendersDeadLettersWithReasonErrorAndCommand() {
        DeadLetter dead = DeadLetter.newBuilder().setApplier("b").setOrigin("a").setTopic("ferry.a.changes").setPartition(0)
                .setKafkaOffset(12L).setPosition(new SourcePosition(REPLID, 1234L, 0)).setReason("WRONGTYPE")
                .setError("WRONGTYPE Operation against a key holding the wrong kind of value")
                .setCommand(new Command("INCR", List.of(bytes("k")))).setTimeMillis(AT).build();
        String line = renderer.render(record("ferry.b.deadletters", 0, null, AvroSerde.deadLetters().encode(dead), "a"));
        assertEquals("ferry.b.deadletters-0@0 origin=a DEAD_LETTER applier=b origin=a source=ferry.a.changes-0@12 "
                + "reason=WRONGTYPE pos=8c3f0a1b:1234 at=2026-11-21T11:02:03.123Z "
                + "error=\"WRONGTYPE Operation against a key holding the wrong kind of value\"  INCR \"k\"", line);
    }

    @Test
    void showsTheBytesOfARecordThePeerCouldNotDecode() {
        DeadLetter dead = DeadLetter.newBuilder().setApplier("b").setTopic("ferry.a.changes").setPartition(0)
                .setKafkaOffset(3L).setReason("UNDECODABLE").setError("not a Ferry ChangeEvent")
                .setRecord(ByteBuffer.wrap(new byte[] {1, 'x', (byte) 0x80})).setTimeMillis(AT).build();
        String line = renderer.render(record("ferry.b.deadletters", 1, null, AvroSerde.deadLetters().encode(dead), null));
        assertTrue(line.contains(" origin=? source=ferry.a.changes-0@3 reason=UNDECODABLE "), line);
        assertTrue(line.endsWith(" record=\"\\x01x\\x80\""), line);
    }

    @Test
    void rendersConflictsSeenInAReplyWithClassKeyAndCommand() {
        Conflict conflict = Conflict.newBuilder().setApplier("b").setOrigin("a").setType("CONDITIONAL_WRITE")
                .setKey(bytes("lock")).setPosition(new SourcePosition(REPLID, 7L, 0))
                .setCommand(new Command("SETNX", List.of(bytes("lock"), bytes("a")))).setTimeMillis(AT).build();
        String line = renderer.render(record("ferry.b.conflicts", 3, null, AvroSerde.conflicts().encode(conflict), null));
        assertEquals("ferry.b.conflicts-0@3 CONFLICT applier=b origin=a class=CONDITIONAL_WRITE resolution=RECORDED key=\"lock\" "
                + "db=0 pos=8c3f0a1b:7 at=2026-11-21T11:02:03.123Z  SETNX \"lock\" \"a\"", line);
    }

    @Test
    void rendersConcurrentWritesWithPolicyWinnerResolutionAndBothWrites() {
        Command mine = new Command("SET", List.of(bytes("user:1"), bytes("x")));
        Command theirs = new Command("HSET", List.of(bytes("user:1"), bytes("f"), bytes("y")));
        Conflict conflict = Conflict.newBuilder().setApplier("b").setOrigin("a").setType("TYPE_CLASH").setKey(bytes("user:1"))
                .setPosition(new SourcePosition(REPLID, 7L, 4)).setCommand(mine).setTimeMillis(AT).setDb(4)
                .setWrite(new ConflictingWrite("a", 812L, new SourcePosition(REPLID, 7L, 4), AT.toEpochMilli() - 20, mine))
                .setOther(new ConflictingWrite("b", -1L, null, AT.toEpochMilli() - 10, theirs))
                .setPolicy("lww").setWinner("b").setResolution("SKIPPED").build();
        String line = renderer.render(record("ferry.b.conflicts", 4, bytes("user:1").array(), AvroSerde.conflicts().encode(conflict), null));
        assertEquals("ferry.b.conflicts-0@4 CONFLICT applier=b origin=a class=TYPE_CLASH policy=lww winner=b resolution=SKIPPED"
                + " key=\"user:1\" db=4 pos=8c3f0a1b:7 at=2026-11-21T11:02:03.123Z"
                + "  write={a@812 pos=8c3f0a1b:7 at=2026-11-21T11:02:03.103Z SET \"user:1\" \"x\"}"
                + "  other={b@? at=2026-11-21T11:02:03.113Z HSET \"user:1\" \"f\" \"y\"}", line);
    }

    @Test
    void rendersARequestToRepublishAKeyWithWhatItsWinnerMustHaveAppliedFirst() {
        Command restore = new Command("RESTORE", List.of(bytes("hits")));
        Conflict conflict = Conflict.newBuilder().setApplier("b").setOrigin("a").setType("RESYNC_GUARDED").setKey(bytes("hits"))
                .setPosition(new SourcePosition(REPLID, 7L, 0)).setCommand(restore).setTimeMillis(AT)
                .setWrite(new ConflictingWrite("a", 40L, new SourcePosition(REPLID, 7L, 0), AT.toEpochMilli() - 20, restore))
                .setPolicy("lww").setWinner("a").setResolution("REQUESTED")
                .setRepublishAfter(java.util.Map.of("b:0", 812L, "c:0", 77L)).build();
        String line = renderer.render(record("ferry.b.conflicts", 5, bytes("hits").array(), AvroSerde.conflicts().encode(conflict), null));
        assertEquals("ferry.b.conflicts-0@5 CONFLICT applier=b origin=a class=RESYNC_GUARDED policy=lww winner=a resolution=REQUESTED"
                + " after={b:0=812,c:0=77} key=\"hits\" db=0 pos=8c3f0a1b:7 at=2026-11-21T11:02:03.123Z"
                + "  write={a@40 pos=8c3f0a1b:7 at=2026-11-21T11:02:03.103Z RESTORE \"hits\"}", line);
    }

    @Test
    void rendersConflictsThePreviousReleaseWrote() throws IOException {
        Map<String, Schema> v1 = ReleasedSchemas.version("v1");
        GenericRecord position = new GenericData.Record(v1.get("SourcePosition"));
        position.put("replid", REPLID);
        position.put("offset", 7L);
        position.put("db", 0);
        GenericRecord old = new GenericData.Record(v1.get("Conflict"));
        old.put("applier", "b");
        old.put("origin", "a");
        old.put("type", "RESTORE_EXISTS");
        old.put("key", bytes("k"));
        old.put("position", position);
        old.put("timeMillis", AT.toEpochMilli());
        ByteBuffer encoded = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1.get("Conflict")).encode(old);
        byte[] value = new byte[encoded.remaining()];
        encoded.get(value);

        assertEquals("ferry.b.conflicts-0@0 CONFLICT applier=b origin=a class=RESTORE_EXISTS resolution=RECORDED key=\"k\" "
                + "db=0 pos=8c3f0a1b:7 at=2026-11-21T11:02:03.123Z", renderer.render(record("ferry.b.conflicts", 0, null, value, null)));
    }

    @Test
    void saysWhatIsWrongWithRecordsItCannotDecode() {
        String line = renderer.render(record("ferry.a.changes", 2, null, "plain text".getBytes(StandardCharsets.US_ASCII), null));
        assertTrue(line.startsWith("ferry.a.changes-0@2 UNDECODABLE (not Avro single-object encoded"), line);
        assertTrue(line.endsWith("10 bytes \"plain text\""), line);

        byte[] unknownSchema = {(byte) 0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0};
        assertTrue(renderer.render(record("t", 0, null, unknownSchema, null)).contains("unknown schema fingerprint 0807060504030201"));
    }

    @Test
    void rendersCompactionTombstones() {
        assertEquals("ferry.a.offsets-0@9 TOMBSTONE key=\"a/0\"",
                renderer.render(record("ferry.a.offsets", 9, "a/0".getBytes(StandardCharsets.UTF_8), null, null)));
    }
}
