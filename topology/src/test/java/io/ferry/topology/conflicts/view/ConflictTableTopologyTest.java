package io.ferry.topology.conflicts.view;

import static io.ferry.topology.conflicts.view.ConflictRecords.pair;
import static io.ferry.topology.conflicts.view.ConflictRecords.replyOnly;
import static io.ferry.topology.conflicts.view.ConflictRecords.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.ConflictingWrite;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConflictTableTopologyTest {

    private static final String MESH = "prod";
    private static final AvroSerde<Conflict> SERDE = AvroSerde.conflicts();

    @TempDir
    Path stateDir;

    private final List<String> undecodable = new ArrayList<>();
    private TopologyTestDriver driver;
    private final Map<String, TestInputTopic<byte[], byte[]>> topics = new java.util.HashMap<>();
    private KeyValueStore<ConflictTableKey, ConflictTableRow> store;
    private TestOutputTopic<ConflictTableKey, ConflictTableRow> table;

    @BeforeEach
    void startDriver() {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, ConflictTableNames.applicationId(MESH));
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        ConflictTableTopology.Listener listener = new ConflictTableTopology.Listener() {
            @Override
            public void recordRead(String topic) {
            }

            @Override
            public void recordUndecodable(String topic, String reason) {
                undecodable.add(topic);
            }
        };
        driver = new TopologyTestDriver(ConflictTableTopology.build(MESH, List.of("a", "b", "c"), listener), props);
        for (String instance : List.of("a", "b", "c")) {
            topics.put(instance, driver.createInputTopic(ReplicationPolicy.conflictsTopic(instance),
                    new ByteArraySerializer(), new ByteArraySerializer()));
        }
        store = driver.getKeyValueStore(ConflictTableNames.STORE);
        table = driver.createOutputTopic(ConflictTableNames.tableTopic(MESH), ConflictTableSerdes.keys().deserializer(),
                ConflictTableSerdes.rows().deserializer());
    }

    @AfterEach
    void closeDriver() {
        driver.close();
    }

    private void record(Conflict conflict) {
        byte[] key = conflict.getKey() == null ? null : ByteText.bytes(conflict.getKey());
        topics.get(conflict.getApplier()).pipeInput(key, SERDE.encode(conflict));
    }

    private ConflictTableRow row(int db, String key, String type) {
        return store.get(ConflictTableKey.newBuilder().setDb(db)
                .setKey(ByteBuffer.wrap(key.getBytes(StandardCharsets.UTF_8))).setType(type).build());
    }

    @Test
    void mergesBothSidesOfAConcurrentPairIntoOneEntry() {
        ConflictingWrite onA = write("a", 17, 1000);
        ConflictingWrite onB = write("b", 42, 1001);
        record(pair("b", "VALUE", "user:1", onA, onB, "lww", "b", "SKIPPED"));
        record(pair("a", "VALUE", "user:1", onB, onA, "lww", "b", "RECORDED"));

        ConflictTableRow row = row(0, "user:1", "VALUE");
        assertEquals(1, row.getEntries().size(), "one entry for the pair: " + row);
        ConflictEntry entry = row.getEntries().get(0);
        assertEquals("a@17|b@42", entry.getId());
        assertEquals(List.of("a", "b"), entry.getSightings().stream().map(ConflictSighting::getApplier).toList());
        assertEquals(List.of("a", "b"), entry.getWrites().stream().map(ConflictWriteRef::getOrigin).toList());
        assertEquals("resolved", entry.getState());
        assertEquals("SKIPPED", entry.getResolution());
        assertEquals("b", entry.getWinner());
        assertEquals("lww", entry.getPolicy());
        assertEquals(0, row.getOpen());
    }

    @Test
    void aPairSeenByOneSideOnlyStaysOpenUntilASightingSettlesIt() {
        ConflictingWrite onA = write("a", 5, 1000);
        ConflictingWrite onB = write("b", 9, 999);
        record(pair("b", "COUNTER", "hits", onA, onB, "lww", null, "RECORDED"));
        assertEquals("open", row(0, "hits", "COUNTER").getEntries().get(0).getState());
        assertEquals(1, row(0, "hits", "COUNTER").getOpen());

        record(pair("a", "COUNTER", "hits", onB, onA, "lww", null, "COMMUTES"));
        ConflictEntry entry = row(0, "hits", "COUNTER").getEntries().get(0);
        assertEquals("resolved", entry.getState());
        assertEquals("COMMUTES", entry.getResolution());
    }

    @Test
    void aFailedRepairKeepsTheEntryOpenUntilTheSameApplierRepairs() {
        ConflictingWrite onA = write("a", 1, 1000);
        ConflictingWrite onB = write("b", 2, 2000);
        record(pair("a", "VALUE", "k", onB, onA, "lww", "b", "SKIPPED"));
        record(pair("b", "VALUE", "k", onA, onB, "lww", "b", "REPAIR_FAILED"));
        ConflictEntry failed = row(0, "k", "VALUE").getEntries().get(0);
        assertEquals("open", failed.getState(), "a failed repair outweighs the other side's SKIPPED");
        assertEquals("REPAIR_FAILED", failed.getResolution());

        record(pair("b", "VALUE", "k", onA, onB, "lww", "b", "REPAIRED"));
        ConflictEntry repaired = row(0, "k", "VALUE").getEntries().get(0);
        assertEquals("resolved", repaired.getState());
        assertEquals("REPAIRED", repaired.getResolution());
        assertEquals(2, repaired.getSightings().size(), "the latest record per applier");
    }

    @Test
    void underTheReportPolicyAPairIsReportedOnceBothSidesRecordedIt() {
        ConflictingWrite onA = write("a", 3, 1000);
        ConflictingWrite onC = write("c", 4, 1000);
        record(pair("c", "LIST_ORDER", "queue", onA, onC, "report", null, "RECORDED"));
        assertEquals("open", row(0, "queue", "LIST_ORDER").getEntries().get(0).getState());

        // a third instance's sighting of the same pair is not one of its sides
        record(pair("b", "LIST_ORDER", "queue", onA, onC, "report", null, "RECORDED"));
        assertEquals("open", row(0, "queue", "LIST_ORDER").getEntries().get(0).getState());

        record(pair("a", "LIST_ORDER", "queue", onC, onA, "report", null, "RECORDED"));
        ConflictEntry entry = row(0, "queue", "LIST_ORDER").getEntries().get(0);
        assertEquals("reported", entry.getState());
        assertEquals("RECORDED", entry.getResolution());
        assertEquals(3, entry.getSightings().size());
        assertEquals(0, row(0, "queue", "LIST_ORDER").getOpen());
    }

    @Test
    void bothSidesRecordingAPairUnderLwwWithoutSettlingItLeaveItOpen() {
        ConflictingWrite onA = write("a", 3, 1000);
        ConflictingWrite onB = write("b", 4, 1000);
        record(pair("a", "VALUE", "x", onB, onA, "lww", "b", "RECORDED"));
        record(pair("b", "VALUE", "x", onA, onB, "lww", "b", "RECORDED"));
        assertEquals("open", row(0, "x", "VALUE").getEntries().get(0).getState());
    }

    @Test
    void replyOnlyConflictsAreOneEntryPerApplierOriginAndPosition() {
        byte[] lock = "lock".getBytes(StandardCharsets.UTF_8);
        record(replyOnly("b", "a", "CONDITIONAL_WRITE", lock, 100));
        record(replyOnly("b", "a", "CONDITIONAL_WRITE", lock, 100)); // recorded again after a restart
        record(replyOnly("b", "a", "CONDITIONAL_WRITE", lock, 250));
        record(replyOnly("a", "b", "CONDITIONAL_WRITE", lock, 100));

        ConflictTableRow row = row(0, "lock", "CONDITIONAL_WRITE");
        assertEquals(List.of("reply:a/b@" + ConflictRecords.REPLID + ":100", "reply:b/a@" + ConflictRecords.REPLID + ":100",
                        "reply:b/a@" + ConflictRecords.REPLID + ":250"),
                row.getEntries().stream().map(ConflictEntry::getId).sorted().toList());
        assertEquals(3, row.getOpen(), "nothing settles a reply-only conflict that was only recorded");
    }

    @Test
    void dbKeyAndClassEachMakeTheirOwnRow() {
        record(pair("b", "VALUE", "k", write("a", 1, 1), write("b", 1, 1), "lww", "a", "REPAIRED"));
        record(pair("b", "TTL", "k", write("a", 2, 1), write("b", 2, 1), "lww", "a", "REPAIRED"));
        Conflict otherDb = pair("b", "VALUE", "k", write("a", 3, 1), write("b", 3, 1), "lww", "a", "REPAIRED");
        otherDb.setDb(3);
        record(otherDb);
        record(pair("b", "VALUE", "k2", write("a", 4, 1), write("b", 4, 1), "lww", "a", "REPAIRED"));
        assertEquals(1, row(0, "k", "VALUE").getEntries().size());
        assertEquals(1, row(0, "k", "TTL").getEntries().size());
        assertEquals(1, row(3, "k", "VALUE").getEntries().size());
        assertEquals(1, row(0, "k2", "VALUE").getEntries().size());
        assertNull(row(1, "k", "VALUE"));
    }

    @Test
    void keysAreBytesNotText() {
        byte[] binary = {(byte) 0xff, 0, '\n', 'k'};
        record(replyOnly("c", "a", "RESTORE_EXISTS", binary, 7));
        ConflictTableRow row = store.get(ConflictTableKey.newBuilder().setDb(0).setKey(ByteBuffer.wrap(binary))
                .setType("RESTORE_EXISTS").build());
        assertEquals(ByteBuffer.wrap(binary), row.getKey());
    }

    @Test
    void theTableTopicGetsTheLatestRowOfEveryKey() {
        ConflictingWrite onA = write("a", 10, 1000);
        ConflictingWrite onB = write("b", 11, 1000);
        record(pair("a", "MEMBER", "set", onB, onA, "lww", "b", "RECORDED"));
        record(pair("b", "MEMBER", "set", onA, onB, "lww", "b", "COMMUTES"));
        record(replyOnly("a", "b", "TYPE_CLASH", "other".getBytes(StandardCharsets.UTF_8), 5));

        Map<String, ConflictTableRow> latest = table.readKeyValuesToList().stream().collect(Collectors.toMap(
                kv -> ByteText.text(kv.key.getKey()) + "/" + kv.key.getType(), kv -> kv.value, (older, newer) -> newer));
        assertEquals(2, latest.size(), latest.keySet().toString());
        assertEquals("resolved", latest.get("set/MEMBER").getEntries().get(0).getState());
        assertEquals(1, latest.get("other/TYPE_CLASH").getOpen());
    }

    @Test
    void recordsThatAreNotConflictsAreSkippedAndReported() {
        topics.get("a").pipeInput("k".getBytes(StandardCharsets.UTF_8), "not avro".getBytes(StandardCharsets.UTF_8));
        topics.get("a").pipeInput("k".getBytes(StandardCharsets.UTF_8), (byte[]) null);
        record(replyOnly("a", "b", "CONDITIONAL_WRITE", "k".getBytes(StandardCharsets.UTF_8), 1));
        assertEquals(List.of("ferry.a.conflicts"), undecodable);
        assertEquals(1, row(0, "k", "CONDITIONAL_WRITE").getEntries().size(), "the stream goes on");
    }

    @Test
    void readsOnlyTheMeshInstancesConflictsTopics() {
        assertThrows(IllegalArgumentException.class, () -> driver.createInputTopic("ferry.x.conflicts",
                new ByteArraySerializer(), new ByteArraySerializer()).pipeInput(new byte[0], new byte[0]));
        assertEquals(List.of(new KeyValue<>("ferry.a.conflicts", true), new KeyValue<>("ferry.a.conflicts.table", false),
                        new KeyValue<>("ferry.ab.conflicts", false)),
                List.of("ferry.a.conflicts", "ferry.a.conflicts.table", "ferry.ab.conflicts").stream()
                        .map(t -> new KeyValue<>(t, ConflictTableNames.conflictsTopics(List.of("a", "b")).matcher(t).matches()))
                        .toList());
    }

    @Test
    void theViewCountsEveryEntryAndShowsTheRowsAFilterSelects() {
        record(pair("b", "VALUE", "k1", write("a", 1, 1000), write("b", 1, 1000), "lww", "a", "REPAIR_FAILED"));
        record(pair("b", "VALUE", "k2", write("a", 2, 2000), write("b", 2, 2000), "lww", "a", "SKIPPED"));
        record(replyOnly("a", "b", "TYPE_CLASH", new byte[] {(byte) 0xff, '"'}, 3));
        ConflictTableView view = new ConflictTableView(() -> store);

        ConflictTableView.Result all = view.query(ConflictTableView.Filter.all());
        assertEquals(Map.of("open", 2L, "resolved", 1L, "reported", 0L), all.entries());
        assertEquals(3, all.matched());
        assertEquals(List.of("\\xff\\\"", "k2", "k1"), all.rows().stream().map(r -> KeyText.escape(r.getKey())).toList(),
                "most recently updated first");

        ConflictTableView.Result open = view.query(ConflictTableView.Filter.parse(Map.of("state", "open", "type", "value")));
        assertEquals(List.of("k1"), open.rows().stream().map(r -> KeyText.escape(r.getKey())).toList());
        assertEquals(1, view.query(ConflictTableView.Filter.parse(Map.of("key", "\\xff\\\""))).matched());
        assertEquals(0, view.query(ConflictTableView.Filter.parse(Map.of("db", "1"))).matched());
        assertEquals(1, view.query(ConflictTableView.Filter.parse(Map.of("limit", "1"))).rows().size());
        assertThrows(IllegalArgumentException.class, () -> ConflictTableView.Filter.parse(Map.of("state", "closed")));

        String json = ConflictTableJson.render(MESH, List.of("a", "b", "c"), List.of(), open);
        assertEquals("{\"mesh\":\"prod\",\"topic\":\"ferry.prod.conflicts.table\",\"instances\":[\"a\",\"b\",\"c\"],"
                + "\"notRead\":[],\"entries\":{\"open\":2,\"reported\":0,\"resolved\":1},\"matched\":1,\"rows\":[{\"db\":0,"
                + "\"key\":\"k1\",\"type\":\"VALUE\",\"open\":1,\"dropped\":0,\"updated\":\"1970-01-01T00:00:01.050Z\",\"entries\":[{"
                + "\"id\":\"a@1|b@1\",\"state\":\"open\",\"resolution\":\"REPAIR_FAILED\",\"policy\":\"lww\",\"winner\":\"a\","
                + "\"replyOnly\":false,\"firstSeen\":\"1970-01-01T00:00:01.050Z\",\"lastSeen\":\"1970-01-01T00:00:01.050Z\","
                + "\"writes\":[{\"origin\":\"a\",\"kafkaOffset\":1,\"position\":\"" + ConflictRecords.REPLID + ":1001\","
                + "\"time\":\"1970-01-01T00:00:01Z\",\"command\":\"SET\"},{\"origin\":\"b\",\"kafkaOffset\":1,"
                + "\"position\":\"" + ConflictRecords.REPLID + ":1001\",\"time\":\"1970-01-01T00:00:01Z\",\"command\":\"SET\"}],"
                + "\"sightings\":[{\"applier\":\"b\",\"resolution\":\"REPAIR_FAILED\",\"winner\":\"a\",\"policy\":\"lww\","
                + "\"time\":\"1970-01-01T00:00:01.050Z\",\"record\":\"ferry.b.conflicts-0@0\"}]}]}]}\n", json);
        assertEquals("\"\\\\xff\\\\\\\"\"", ConflictTableJson.string(KeyText.escape(ByteBuffer.wrap(new byte[] {(byte) 0xff, '"'}))),
                "escaped key text, then JSON-escaped");
    }

    /** Key bytes for the test's records and labels. */
    static final class ByteText {
        static byte[] bytes(ByteBuffer buffer) {
            byte[] bytes = new byte[buffer.remaining()];
            buffer.duplicate().get(bytes);
            return bytes;
        }

        static String text(ByteBuffer buffer) {
            return new String(bytes(buffer), StandardCharsets.UTF_8);
        }
    }
}
