package io.ferry.cli.status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.ferry.schemas.Command;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.ConflictingWrite;
import io.ferry.schemas.SourcePosition;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConflictDigestTest {

    private static final String REPLID = "0123456789abcdef0123456789abcdef01234567";

    private static ConflictingWrite write(String origin, long kafkaOffset) {
        return ConflictingWrite.newBuilder().setOrigin(origin).setKafkaOffset(kafkaOffset)
                .setPosition(new SourcePosition(REPLID, kafkaOffset, 0)).setTimeMillis(1000).build();
    }

    private static Conflict pair(String applier, byte[] key, ConflictingWrite peer, ConflictingWrite local, String policy,
                                 String winner, String resolution, long atMillis) {
        return Conflict.newBuilder().setApplier(applier).setOrigin(peer.getOrigin()).setType("VALUE").setKey(ByteBuffer.wrap(key))
                .setPosition(peer.getPosition()).setTimeMillis(Instant.ofEpochMilli(atMillis)).setDb(2)
                .setWrite(peer).setOther(local).setPolicy(policy).setWinner(winner).setResolution(resolution).build();
    }

    private static Conflict setnx(String applier, String origin, long offset) {
        return Conflict.newBuilder().setApplier(applier).setOrigin(origin).setType("CONDITIONAL_WRITE")
                .setKey(ByteBuffer.wrap(new byte[] {'l', 'o', 'c', 'k'})).setPosition(new SourcePosition(REPLID, offset, 0))
                .setCommand(new Command("SETNX", List.of())).setTimeMillis(Instant.ofEpochMilli(5000)).build();
    }

    @Test
    void describesAPairWithItsEscapedKeyOriginsWinnerAndResolution() {
        Conflict conflict = pair("b", new byte[] {'u', ':', (byte) 0xff}, write("a", 17), write("b", 42), "lww", "b", "SKIPPED", 0);
        assertEquals("1970-01-01T00:00:00Z VALUE \"u:\\xff\" db 2  a@17 vs b@42  lww, winner b  SKIPPED",
                ConflictDigest.describe(conflict));
        assertEquals("1970-01-01T00:00:05Z CONDITIONAL_WRITE \"lock\" db 0  from a  RECORDED",
                ConflictDigest.describe(setnx("b", "a", 9)));
        Conflict reported = pair("a", new byte[] {'q'}, write("b", 1), write("a", 2), "report", null, "RECORDED", 0);
        assertEquals("1970-01-01T00:00:00Z VALUE \"q\" db 2  b@1 vs a@2  report, no winner  RECORDED", ConflictDigest.describe(reported));
    }

    @Test
    void countsAnInstancesConflictsByClassAndResolutionAndKeepsTheLatest() {
        ConflictDigest.Topic topic = new ConflictDigest.Topic(2);
        assertNull(topic.resolutionLine());
        topic.add(pair("b", new byte[] {'k'}, write("a", 1), write("b", 1), "lww", "a", "REPAIRED", 1));
        topic.add(pair("b", new byte[] {'k'}, write("a", 2), write("b", 2), "lww", "b", "SKIPPED", 2));
        topic.add(pair("b", new byte[] {'k'}, write("a", 3), write("b", 3), "lww", "b", "SKIPPED", 3));
        topic.add(setnx("b", "a", 4));
        topic.undecodable();
        assertEquals(Map.of("VALUE", 3L, "CONDITIONAL_WRITE", 1L, "UNDECODABLE", 1L), topic.byClass());
        assertEquals("CONDITIONAL_WRITE: RECORDED 1; VALUE: REPAIRED 1, SKIPPED 2", topic.resolutionLine());
        assertEquals(2, topic.recentLines().size());
        assertEquals(ConflictDigest.describe(setnx("b", "a", 4)), topic.recentLines().get(1));
    }

    @Test
    void acrossTheMeshBothRecordsOfAPairCountOnce() {
        ConflictDigest mesh = new ConflictDigest();
        byte[] key = {'k'};
        mesh.merge(pair("b", key, write("a", 1), write("b", 1), "lww", "a", "RECORDED", 1), "ferry.b.conflicts", 0, 0);
        mesh.merge(pair("a", key, write("b", 1), write("a", 1), "lww", "a", "SKIPPED", 1), "ferry.a.conflicts", 0, 0);
        mesh.merge(pair("b", key, write("a", 2), write("b", 2), "lww", "a", "REPAIR_FAILED", 2), "ferry.b.conflicts", 0, 1);
        mesh.merge(pair("a", key, write("b", 3), write("a", 3), "report", null, "RECORDED", 3), "ferry.a.conflicts", 0, 1);
        mesh.merge(pair("b", key, write("a", 3), write("b", 3), "report", null, "RECORDED", 3), "ferry.b.conflicts", 0, 2);
        assertEquals(Map.of("open", 1L, "resolved", 1L, "reported", 1L), mesh.states());
        assertEquals(List.of("VALUE \"k\" db 2  a@2|b@2  REPAIR_FAILED  (recorded by b)"), mesh.openLines(5));
        assertEquals(List.of(), mesh.openLines(0));
    }
}
