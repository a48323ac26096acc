package io.ferry.e2e.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.KafkaCluster;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.Heartbeat;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Kafka's own console consumer (kafka-tools' ConsoleConsumer, in a JVM of its own as an operator runs
 * it) with {@code --formatter io.ferry.cli.inspect.FerryMessageFormatter}, against records a real
 * broker holds.
 */
class FormatterTest {

    private static final String REPLID = "0123456789abcdef0123456789abcdef01234567";
    private static final Instant AT = Instant.parse("2026-11-21T10:00:00.250Z");
    private static final String ORIGIN = "fmt" + Long.toHexString(System.nanoTime());
    private static KafkaCluster kafka;

    @BeforeAll
    static void writeRecords() throws Exception {
        kafka = TestServers.kafka();
        String changes = ReplicationPolicy.changesTopic(ORIGIN);
        String deadLetters = ReplicationPolicy.deadLetterTopic(ORIGIN);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic(changes, 1, (short) 1), new NewTopic(deadLetters, 1, (short) 1)))
                    .all().get(30, TimeUnit.SECONDS);
        }
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "formatter-test-" + ORIGIN);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(change(changes, event(EventKind.COMMAND, 100).setCommands(List.of(new Command("SET",
                    List.of(text("user:1"), ByteBuffer.wrap(new byte[] {'v', 0, (byte) 0xff, '"'}))))).build()));
            producer.send(change(changes, event(EventKind.HEARTBEAT, 130).setHeartbeat(new Heartbeat(150L, 130L)).build()));
            producer.send(change(changes, event(EventKind.TRANSACTION, 180).setDb(2).setCommands(List.of(
                    new Command("INCR", List.of(text("n"))), new Command("RPUSH", List.of(text("q"), text("a b"))))).build()));
            DeadLetter dead = DeadLetter.newBuilder().setApplier(ORIGIN).setOrigin("peer").setTopic("ferry.peer.changes")
                    .setPartition(0).setKafkaOffset(7L).setReason("WRONGTYPE").setError("WRONGTYPE Operation against a key holding the wrong kind of value")
                    .setCommand(new Command("INCR", List.of(text("k")))).setTimeMillis(AT).build();
            producer.send(new ProducerRecord<>(deadLetters, 0, (byte[]) null, AvroSerde.deadLetters().encode(dead),
                    List.<org.apache.kafka.common.header.Header>of(new RecordHeader(ReplicationPolicy.ORIGIN_HEADER, "peer".getBytes(StandardCharsets.UTF_8)))));
            producer.commitTransaction();
        }
    }

    @Test
    void consoleConsumerPrintsChangeEventsWithOriginPositionAndEscapedBinaryAndDeadLettersWithReason() throws Exception {
        String changes = ReplicationPolicy.changesTopic(ORIGIN);
        String deadLetters = ReplicationPolicy.deadLetterTopic(ORIGIN);
        List<String> lines = consoleConsumer(List.of("--include", "ferry\\." + ORIGIN + "\\.(changes|deadletters)", "--max-messages", "4"));
        assertEquals(List.of(
                changes + "-0@0 origin=" + ORIGIN + " COMMAND db=0 pos=01234567:100 at=2026-11-21T10:00:00.250Z  SET \"user:1\" \"v\\x00\\xff\\\"\"",
                changes + "-0@1 origin=" + ORIGIN + " HEARTBEAT db=0 pos=01234567:130 at=2026-11-21T10:00:00.250Z source=150 captured=130 (20 bytes behind)",
                changes + "-0@2 origin=" + ORIGIN + " TRANSACTION db=2 pos=01234567:180 at=2026-11-21T10:00:00.250Z  INCR \"n\" ; RPUSH \"q\" \"a b\"",
                deadLetters + "-0@0 origin=peer DEAD_LETTER applier=" + ORIGIN + " origin=peer source=ferry.peer.changes-0@7 "
                        + "reason=WRONGTYPE at=2026-11-21T10:00:00.250Z "
                        + "error=\"WRONGTYPE Operation against a key holding the wrong kind of value\"  INCR \"k\""),
                lines.stream().sorted().toList());
    }

    @Test
    void formatterPropertiesLeaveOutHeartbeatsAndCutLongArguments() throws Exception {
        List<String> lines = consoleConsumer(List.of("--topic", ReplicationPolicy.changesTopic(ORIGIN), "--max-messages", "3",
                "--formatter-property", "skip.heartbeats=true", "--formatter-property", "max.arg.bytes=2"));
        assertEquals(2, lines.size(), String.join("\n", lines));
        assertTrue(lines.get(0).endsWith("SET \"us\"…(+4 bytes) \"v\\x00\"…(+2 bytes)"), lines.get(0));
        assertTrue(lines.get(1).contains(" TRANSACTION "), lines.get(1));
    }

    private static List<String> consoleConsumer(List<String> extra) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "org.apache.kafka.tools.consumer.ConsoleConsumer",
                "--bootstrap-server", kafka.bootstrap(), "--from-beginning", "--isolation-level", "read_committed",
                "--timeout-ms", "30000", "--formatter", "io.ferry.cli.inspect.FerryMessageFormatter"));
        command.addAll(extra);
        Path err = Files.createTempFile("console-consumer", ".err");
        try {
            Process process = new ProcessBuilder(command).redirectError(err.toFile()).start();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "console consumer finished");
            assertEquals(0, process.exitValue(), "console consumer exit code; stderr:\n" + Files.readString(err));
            return out.lines().filter(l -> !l.isBlank()).toList();
        } finally {
            Files.deleteIfExists(err);
        }
    }

    private static ChangeEvent.Builder event(EventKind kind, long offset) {
        return ChangeEvent.newBuilder().setOrigin(ORIGIN).setKind(kind).setDb(0)
                .setPosition(new SourcePosition(REPLID, offset, 0)).setCaptureTimeMillis(AT);
    }

    private static ProducerRecord<byte[], byte[]> change(String topic, ChangeEvent event) {
        return new ProducerRecord<>(topic, 0, (byte[]) null, AvroSerde.changeEvents().encode(event), List.<org.apache.kafka.common.header.Header>of(
                new RecordHeader(ReplicationPolicy.ORIGIN_HEADER, ORIGIN.getBytes(StandardCharsets.UTF_8)),
                new RecordHeader(ReplicationPolicy.KIND_HEADER, event.getKind().name().getBytes(StandardCharsets.UTF_8))));
    }

    private static ByteBuffer text(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }
}
