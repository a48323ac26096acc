package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, item 5: a kill -9 of the apply agent at the worst moment (a dead letter found, Kafka not
 * taking it) loses no dead letter. B's dead-letter topic is given a record limit too small for any
 * letter, so B's apply agent is held exactly between finding a dead letter and Kafka acknowledging it.
 */
class ErrorRecordsUnderKillTest {

    @Test
    void aKillWhileADeadLetterIsUnacknowledgedLosesNoDeadLetter() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.start("A", "B")) {
            String letters = ReplicationPolicy.deadLetterTopic(mesh.id("B"));
            String journal = new String(ReplicationPolicy.findingsJournalKey(mesh.id("B")), StandardCharsets.UTF_8);
            mesh.redis("A").set("s", "a string");
            Await.equal(MeshUnderTest.CONVERGE, "s on B", "a string", () -> mesh.redis("B").get("s"));

            // 1. Learned from a committed EXEC (WRONGTYPE): the checkpoint has passed it, Redis keeps it.
            setLimit(mesh, letters, 64);
            long wrongType = produce(mesh, AvroSerde.changeEvents().encode(lpush(mesh.id("A"), "s")));
            awaitHeldBack(mesh, letters);
            assertTrue(mesh.redis("B").llen(journal) >= 1, "dead letter kept in B's Redis");
            assertTrue(mesh.checkpoint("B", "A") >= wrongType);
            mesh.apply("B").kill();
            setLimit(mesh, letters, 4_000_000);
            mesh.startApply("B");
            mesh.awaitReady("B", "apply");
            Await.equal(MeshUnderTest.CONVERGE, "journal emptied", 0L, () -> mesh.redis("B").llen(journal));
            assertEquals(List.of("WRONGTYPE@" + wrongType), deadLetters(mesh, letters));

            // 2. Found before its batch was sent (undecodable): the checkpoint stays before it until Kafka has it.
            setLimit(mesh, letters, 64);
            long poison = produce(mesh, "not a change event".getBytes(StandardCharsets.UTF_8));
            mesh.redis("A").set("after", "1");
            awaitHeldBack(mesh, letters);
            assertTrue(mesh.checkpoint("B", "A") < poison, "B's checkpoint passed a record whose dead letter Kafka does not have");
            assertEquals(null, mesh.redis("B").get("after"));
            mesh.apply("B").kill();
            setLimit(mesh, letters, 4_000_000);
            mesh.startApply("B");
            mesh.awaitReady("B", "apply");
            Await.equal(MeshUnderTest.CONVERGE, "write after the poison record on B", "1", () -> mesh.redis("B").get("after"));
            assertEquals(List.of("WRONGTYPE@" + wrongType, "UNDECODABLE@" + poison), deadLetters(mesh, letters));
        }
    }

    private static void awaitHeldBack(MeshUnderTest mesh, String letters) {
        Await.until(MeshUnderTest.CONVERGE, "B's apply agent not ready, naming " + letters,
                () -> mesh.httpGet("B", "apply", "/readyz").contains("cannot record an error record in " + letters));
    }

    private static List<String> deadLetters(MeshUnderTest mesh, String topic) {
        return mesh.records(topic).stream().map(r -> AvroSerde.deadLetters().decode(r.value()))
                .map((DeadLetter l) -> l.getReason() + "@" + l.getKafkaOffset()).toList();
    }

    /** A change event as A's capture would publish it for {@code LPUSH key x}. */
    private static ChangeEvent lpush(String origin, String key) {
        return ChangeEvent.newBuilder()
                .setOrigin(origin)
                .setPosition(new SourcePosition("0123456789012345678901234567890123456789", 1L, 0))
                .setKind(EventKind.COMMAND)
                .setDb(0)
                .setCommands(List.of(new Command("LPUSH", List.of(bytes(key), bytes("x")))))
                .setKeys(List.of(bytes(key)))
                .setCaptureTimeMillis(Instant.now())
                .build();
    }

    private static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    private static long produce(MeshUnderTest mesh, byte[] value) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers", mesh.local().kafka().bootstrap()),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            return producer.send(new ProducerRecord<>(ReplicationPolicy.changesTopic(mesh.id("A")), value)).get().offset();
        }
    }

    private static void setLimit(MeshUnderTest mesh, String topic, int maxMessageBytes) throws Exception {
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", mesh.local().kafka().bootstrap()))) {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            admin.incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(
                    new ConfigEntry(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxMessageBytes)),
                    AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
        }
    }
}
