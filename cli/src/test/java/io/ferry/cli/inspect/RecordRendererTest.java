package io.ferry.cli.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.CapturePosition;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.Heartbeat;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
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
        RecordHeaders headers = new RecordHeaders();
        if (origin != null) {
            headers.add(ReplicationPolicy.ORIGIN_HEADER, origin.getBytes(StandardCharsets.UTF_8));
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
    void rendersConflictsWithTypeAndKey() {
        Conflict conflict = Conflict.newBuilder().setApplier("b").setOrigin("a").setType("CONDITIONAL_WRITE")
                .setKey(bytes("lock")).setPosition(new SourcePosition(REPLID, 7L, 0))
                .setCommand(new Command("SETNX", List.of(bytes("lock"), bytes("a")))).setTimeMillis(AT).build();
        String line = renderer.render(record("ferry.b.conflicts", 3, null, AvroSerde.conflicts().encode(conflict), null));
        assertEquals("ferry.b.conflicts-0@3 CONFLICT applier=b origin=a type=CONDITIONAL_WRITE key=\"lock\" "
                + "pos=8c3f0a1b:7 at=2026-11-21T11:02:03.123Z  SETNX \"lock\" \"a\"", line);
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
