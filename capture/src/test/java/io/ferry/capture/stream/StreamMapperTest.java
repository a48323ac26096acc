package io.ferry.capture.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.resp.SpilledBulk;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.KeyExpiries;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class StreamMapperTest {

    private long now = 1_700_000_000_000L;
    private final List<String> published = new ArrayList<>();
    private final List<String> filtered = new ArrayList<>();
    private final List<String> echoes = new ArrayList<>();
    private final List<String> positions = new ArrayList<>();
    private final List<String> applied = new ArrayList<>();
    private final List<Long> sourceTimes = new ArrayList<>();
    private final List<Boolean> republications = new ArrayList<>();
    private final List<String> keyExpiries = new ArrayList<>();
    private long offset;
    private final List<String> spills = new ArrayList<>();

    private final StreamSink sink = new StreamSink() {
        @Override
        public void publish(EventKind kind, int db, List<byte[][]> commands, List<byte[]> keys, long endOffset, int endDb) {
            published.add(kind + " db" + db + " " + commands.stream().map(StreamMapperTest::text).collect(Collectors.joining("; "))
                    + " keys=" + keys.stream().map(k -> new String(k, StandardCharsets.UTF_8)).collect(Collectors.joining(",")));
            positions.add(endOffset + "/" + endDb);
        }

        @Override
        public void advance(long endOffset, int endDb) {
            positions.add(endOffset + "/" + endDb);
        }

        @Override
        public void filtered(String command, String reason) {
            filtered.add(command);
        }

        @Override
        public void sourceTime(long millis, boolean republished) {
            sourceTimes.add(millis);
            republications.add(republished);
        }

        @Override
        public void keyExpiries(KeyExpiries expiries) {
            keyExpiries.add(expiries.toString());
        }

        @Override
        public void spilledValues(Map<byte[], SpilledBulk> values, long beforeOffset, int beforeDb) {
            spills.add(values.size() + " before " + beforeOffset + "/" + beforeDb);
        }

        @Override
        public void applied(String origin, int partition, long offset) {
            applied.add(origin + ":" + partition + "=" + offset + " before " + published.size() + " published");
        }

        @Override
        public void echo(String origin) {
            echoes.add(origin);
        }
    };

    private final StreamMapper mapper = new StreamMapper(sink, KeyExtractor.withoutMetadata(), new ExpiryTracker(), EvictionCheck.NONE, () -> now, 50, 0, 0);

    private static String text(byte[][] argv) {
        return Arrays.stream(argv).map(b -> new String(b, StandardCharsets.UTF_8)).collect(Collectors.joining(" "));
    }

    private void feed(String... commands) throws InterruptedException {
        for (String command : commands) {
            byte[][] argv = Arrays.stream(command.split(" ")).map(s -> s.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);
            offset += 10;
            mapper.accept(argv, offset);
        }
    }

    /** Feeds {@code SET key <spilled>} with the value in a temporary spill file; returns that file. */
    private Path feedSpilled(String name, String key) throws Exception {
        Path file = Files.createTempFile("ferry-value-", ".bulk");
        Files.write(file, new byte[] {1, 2, 3});
        byte[] placeholder = new byte[0];
        Map<byte[], SpilledBulk> spilled = new IdentityHashMap<>();
        spilled.put(placeholder, new SpilledBulk(file, 3));
        offset += 10;
        mapper.accept(new byte[][] {name.getBytes(StandardCharsets.UTF_8), key.getBytes(StandardCharsets.UTF_8), placeholder}, spilled, offset);
        return file;
    }

    @Test
    void aSpilledValueIsHandedToTheSinkWithThePositionBeforeItsCommandAndItsFileDeletedAfterwards() throws Exception {
        feed("SET a 1");
        Path file = feedSpilled("SET", "big");
        assertEquals(List.of("1 before 10/0"), spills);
        assertEquals("COMMAND db0 SET big  keys=big", published.get(1));
        assertFalse(Files.exists(file), "the spill file is deleted once its command is published");
    }

    @Test
    void aSpilledValueInsideABlockIsStagedBeforeTheBlockStartsAndKeptUntilItsExec() throws Exception {
        feed("SELECT 3", "MULTI", "INCR n");
        Path file = feedSpilled("APPEND", "big");
        assertTrue(Files.exists(file), "the block is not published yet");
        feed("EXEC");
        assertEquals(List.of("1 before 10/3"), spills, "the position before MULTI");
        assertEquals(List.of("TRANSACTION db3 INCR n; APPEND big  keys=n,big"), published);
        assertFalse(Files.exists(file));
    }

    @Test
    void aSpilledValueInAnEchoedBlockIsDroppedWithTheBlock() throws Exception {
        String checkpoint = new String(ReplicationPolicy.checkpointKey("eu-2", 0), StandardCharsets.UTF_8);
        feed("MULTI");
        Path file = feedSpilled("SET", "big");
        feed("SET " + checkpoint + " 42", "EXEC");
        assertEquals(List.of(), published);
        assertEquals(List.of(), spills);
        assertFalse(Files.exists(file));
    }

    @Test
    void aWriteToAKeyWhoseTtlIsStillRunningCarriesItsExpiry() throws InterruptedException {
        long at = now + 5_000;
        feed("SET v 1 PXAT " + at, "RPUSH l a", "PEXPIREAT l " + at, "INCR v", "RPUSH l b", "MULTI", "INCR plain", "INCR v", "EXEC");
        assertEquals(List.of("0=" + at, "", "0=" + at, "0=" + at, "0=" + at, "1=" + at), keyExpiries);
    }

    @Test
    void noExpiryIsClaimedOnceItRanOutOrAfterAPopThatMayHaveDeletedTheKey() throws InterruptedException {
        long at = now + 5_000;
        feed("RPUSH l a", "PEXPIREAT l " + at, "LPOP l", "RPUSH l b", "PEXPIREAT l " + at, "RPUSH l c");
        assertEquals(List.of("", "0=" + at, "", "", "0=" + at, "0=" + at), keyExpiries,
                "after LPOP the list may have been emptied and created again without a TTL, until a TTL is set again");
        now = at;
        keyExpiries.clear();
        feed("RPUSH l d");
        assertEquals(List.of(""), keyExpiries, "the TTL has run out on the source: the RPUSH made a new key there");
    }

    @Test
    void groupsMultiExecIntoOneTransactionInTheDbItStartedIn() throws InterruptedException {
        feed("SELECT 2", "MULTI", "SET a 1", "INCR b", "EXEC");
        assertEquals(List.of("TRANSACTION db2 SET a 1; INCR b keys=a,b"), published);
        assertEquals(List.of("10/2", "50/2"), positions, "no position inside the open block");
    }

    @Test
    void keepsSelectInsideABlockThatSpansDbs() throws InterruptedException {
        feed("MULTI", "SET a 1", "SELECT 1", "SET b 2", "EXEC", "SET c 3");
        assertEquals(List.of("TRANSACTION db0 SET a 1; SELECT 1; SET b 2 keys=a,b", "COMMAND db1 SET c 3 keys=c"), published);
        assertEquals(List.of("50/1", "60/1"), positions);
    }

    @Test
    void publishesUnknownCommandsAsRawArgv() throws InterruptedException {
        feed("ZRANGESTORE dst src 0 -1", "MYMODULE.WRITE k x y");
        assertEquals(List.of("COMMAND db0 ZRANGESTORE dst src 0 -1 keys=dst", "COMMAND db0 MYMODULE.WRITE k x y keys=k"), published);
    }

    @Test
    void filtersWhatEachInstanceOwnsAndCountsItByCommand() throws InterruptedException {
        feed("FLUSHDB", "FLUSHALL", "PUBLISH ch hello", "SPUBLISH ch hello", "SWAPDB 0 1", "SCRIPT FLUSH",
                "FUNCTION LOAD code", "PING", "REPLCONF GETACK *", "SELECT 3", "SET __ferry:lock 1");
        assertEquals(List.of(), published);
        assertEquals(List.of("FLUSHDB", "FLUSHALL", "PUBLISH", "SPUBLISH", "SWAPDB", "SCRIPT", "FUNCTION", "PING", "REPLCONF", "SET"), filtered);
        assertEquals(11, positions.size(), "every filtered command still advances the position");
        assertEquals("110/3", positions.get(10));
    }

    @Test
    void dropsAWholeBlockThatWritesAnApplyCheckpoint() throws InterruptedException {
        String checkpoint = new String(ReplicationPolicy.checkpointKey("eu-2", 0), StandardCharsets.UTF_8);
        feed("MULTI", "SET a 1", "DEL b", "SET " + checkpoint + " 42", "EXEC", "SET " + checkpoint + " 43", "SET mine 1");
        assertEquals(List.of("COMMAND db0 SET mine 1 keys=mine"), published);
        assertEquals(List.of("eu-2", "eu-2"), echoes, "a checkpoint SET without MULTI is an echo too");
        assertEquals(List.of(), filtered);
    }

    @Test
    void checkpointsMoveTheAppliedVectorBetweenLocalWritesInStreamOrder() throws InterruptedException {
        String a = new String(ReplicationPolicy.checkpointKey("a", 0), StandardCharsets.UTF_8);
        String c = new String(ReplicationPolicy.checkpointKey("c", 2), StandardCharsets.UTF_8);
        feed("SET x 1", "MULTI", "SET k v", "SET " + a + " 41", "EXEC", "SET y 2", "SET " + c + " 7", "MULTI", "SET z 3", "EXEC");
        assertEquals(List.of("a:0=41 before 1 published", "c:2=7 before 2 published"), applied,
                "x was written before a:0=41 was applied, y after it, z after c:2=7 too");
    }

    @Test
    void publishesTheRestOfABlockWithoutItsFilteredCommands() throws InterruptedException {
        feed("MULTI", "SET a 1", "PUBLISH ch x", "SET b 2", "EXEC", "MULTI", "PUBLISH ch y", "EXEC");
        assertEquals(List.of("TRANSACTION db0 SET a 1; SET b 2 keys=a,b"), published);
        assertEquals(List.of("PUBLISH", "PUBLISH"), filtered);
    }

    @Test
    void tellsAnExpiryDelFromAUserDel() throws InterruptedException {
        feed("SET soon v PX 1000", "SET later v EX 100", "SET forever v");
        now += 2000;
        feed("DEL soon", "DEL later", "DEL forever", "UNLINK soon");
        assertEquals(List.of(
                "COMMAND db0 SET soon v PXAT 1700000001000 keys=soon",
                "COMMAND db0 SET later v PXAT 1700000100000 keys=later",
                "COMMAND db0 SET forever v keys=forever",
                "COMMAND db0 DEL later keys=later",
                "COMMAND db0 DEL forever keys=forever",
                "COMMAND db0 UNLINK soon keys=soon"), published, "UNLINK after the DEL: the key is no longer tracked");
        assertEquals(List.of("DEL"), filtered);
    }

    @Test
    void followsTtlChangesBeforeDecidingADelIsAnExpiry() throws InterruptedException {
        feed("SET a v PX 100", "PERSIST a", "SET b v PX 100", "SET b w", "SET c v PX 100", "RENAME c d",
                "SET e v", "PEXPIREAT e " + (now + 100), "SELECT 1", "SET a v PX 100");
        now += 1000;
        feed("SELECT 0", "DEL a", "DEL b", "DEL c", "DEL d", "DEL e", "SELECT 1", "DEL a");
        List<String> dels = published.stream().filter(p -> p.contains(" DEL ")).toList();
        assertEquals(List.of("COMMAND db0 DEL a keys=a", "COMMAND db0 DEL b keys=b", "COMMAND db0 DEL c keys=c"), dels);
        assertEquals(List.of("DEL", "DEL", "DEL"), filtered, "d (renamed volatile key), e and db1's a expired");
    }

    @Test
    void treatsADelOfAKeyExpiringWithinTheToleranceAsAnExpiry() throws InterruptedException {
        feed("SET a v PX 1030", "SET b v PX 1100");
        now += 1000;
        feed("DEL a", "DEL b");
        assertEquals(List.of("DEL"), filtered);
        assertTrue(published.get(published.size() - 1).startsWith("COMMAND db0 DEL b"));
    }

    @Test
    void rewritesRelativeTtlsInsideBlocks() throws InterruptedException {
        feed("MULTI", "SETEX a 10 v", "EXPIRE b 5", "EXEC");
        assertEquals(List.of("TRANSACTION db0 SET a v PXAT 1700000010000; PEXPIREAT b 1700000005000 keys=a,b"), published);
    }

    @Test
    void asksWhetherAStandaloneSingleKeyDelWasAnEvictionWithItsOffsetsAndFiltersIt() throws InterruptedException {
        List<String> asked = new ArrayList<>();
        EvictionCheck check = (db, key, start, end) -> {
            String k = new String(key, StandardCharsets.UTF_8);
            asked.add("db" + db + " " + k + " " + start + ".." + end);
            return k.startsWith("evicted");
        };
        StreamMapper withEvictions = new StreamMapper(sink, KeyExtractor.withoutMetadata(), new ExpiryTracker(), check,
                () -> now, 50, 100, 0);
        long at = 100;
        for (String command : List.of("SET a 1", "DEL evicted1", "DEL a", "DEL x y", "MULTI", "DEL evicted2", "EXEC",
                "SET v 1 PX 10", "SELECT 3", "UNLINK evicted3")) {
            byte[][] argv = Arrays.stream(command.split(" ")).map(b -> b.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);
            at += 10;
            if (command.equals("SELECT 3")) {
                now += 1000; // v's TTL ran out: its DEL below is an expiry, no question asked
                withEvictions.accept(new byte[][] {"DEL".getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8)}, at);
                at += 10;
            }
            withEvictions.accept(argv, at);
        }
        assertEquals(List.of("db0 evicted1 111..120", "db0 a 121..130", "db3 evicted3 201..210"), asked,
                "multi-key DELs, DELs inside blocks and expiries are not evictions");
        assertEquals(List.of("DEL", "DEL", "UNLINK"), filtered, "evicted1, the expired v, evicted3");
        assertTrue(published.contains("COMMAND db0 DEL a keys=a"));
        assertTrue(published.stream().anyMatch(p -> p.startsWith("COMMAND db0 DEL x y ")), published.toString());
        assertTrue(published.contains("TRANSACTION db0 DEL evicted2 keys=evicted2") || published.contains("COMMAND db0 DEL evicted2 keys=evicted2"),
                published.toString());
    }

    @Test
    void aRepairsTimeMarkerGivesItsBlockTheWinningWritesSourceTimeAndIsNotPublished() throws InterruptedException {
        String marker = new String(ReplicationPolicy.repairTimeKey("x1"), StandardCharsets.UTF_8);
        feed("MULTI", "SET k v", "SET " + marker + " 1700000000123", "EXEC", "SET other 1");
        assertEquals(List.of("COMMAND db0 SET k v keys=k", "COMMAND db0 SET other 1 keys=other"), published);
        assertEquals(List.of(1_700_000_000_123L), sourceTimes, "only the repair's block carries a source time");
        assertEquals(List.of(false), republications, "an ordinary repair is no re-publication after a resync");
    }

    @Test
    void aRepublicationsTimeMarkerAlsoMarksItsBlockAsARepublication() throws InterruptedException {
        feed("MULTI", "SET k v", "SET " + new String(ReplicationPolicy.republishTimeKey("x1"), StandardCharsets.UTF_8) + " 1700000000456", "EXEC", "SET other 1");
        assertEquals(List.of("COMMAND db0 SET k v keys=k", "COMMAND db0 SET other 1 keys=other"), published);
        assertEquals(List.of(1_700_000_000_456L), sourceTimes);
        assertEquals(List.of(true), republications);
    }

    @Test
    void theSingleRepairTimeKeyOfEarlierApplyAgentsIsStillRecognised() throws InterruptedException {
        feed("MULTI", "SET k v", "SET __ferry:repair-time 1700000000456", "EXEC");
        assertEquals(List.of("COMMAND db0 SET k v keys=k"), published);
        assertEquals(List.of(1_700_000_000_456L), sourceTimes);
    }

    @Test
    void aReservedKeyMerelyResemblingARepairTimeKeyStampsNothing() throws InterruptedException {
        feed("MULTI", "SET k v", "SET __ferry:repair-time:{a}b 1700000000789", "EXEC");
        assertEquals(List.of("COMMAND db0 SET k v keys=k"), published, "still a reserved key: never published");
        assertEquals(List.of(), sourceTimes);
    }
}
