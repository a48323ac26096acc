package io.ferry.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.ferry.localmesh.Await;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

/**
 * Dead letters are never lost: one Kafka will not take (its topic's record limit is made too small, or
 * the topic is gone) holds applying back, and survives the agent stopping before Kafka acknowledges it.
 * The journalled case (learned from a committed EXEC) is tested with a kill -9 in the end-to-end
 * ErrorRecordsUnderKillTest.
 */
class ErrorRecordDurabilityTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void anUndecodableRecordsDeadLetterIsInKafkaBeforeTheCheckpointPassesIt() throws Exception {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            String topic = ReplicationPolicy.deadLetterTopic(f.self);
            createTopic(f, topic, 64);
            f.produce(f.command("SET", "before", "0"));
            long poison = f.produceRaw(b("not avro at all"));
            f.produce(f.command("SET", "after", "1"));
            ApplyService first = f.startApply();
            Await.until(WAIT, "not ready, naming the topic", () -> String.valueOf(first.readiness())
                    .startsWith("cannot record an error record in " + topic));
            // Found before the batch was sent: the batch (and its checkpoint) waits, nothing is journalled.
            assertNull(f.checkpoint(), "no checkpoint passes the poison record while its letter is not in Kafka");
            assertStillAbsent(f, "before");
            assertEquals(0L, f.redisCommands.llen(ReplicationPolicy.findingsJournalKey(f.self)));
            first.close();

            setLimit(f, topic, 1_000_000);
            f.startApply();
            Await.equal(WAIT, "applying goes on", "1", () -> f.get("after"));
            List<DeadLetter> letters = f.readAll(topic).stream().map(r -> AvroSerde.deadLetters().decode(r.value())).toList();
            assertEquals(1, letters.size());
            assertEquals("UNDECODABLE", letters.get(0).getReason());
            assertEquals(poison, letters.get(0).getKafkaOffset());
        }
    }

    @Test
    void aMissingDeadLetterTopicHoldsApplyingBackAndTheAgentIsNotReadyUntilItExists() throws Exception {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            String topic = ReplicationPolicy.deadLetterTopic(f.self);
            ApplyService service = f.startApply();
            Await.until(WAIT, "ready", () -> service.readiness() == null);
            try (Admin admin = admin(f)) {
                admin.deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
            }
            f.redisCommands.set(b("s"), b("a string"));
            f.produce(f.command("LPUSH", "s", "x"));
            Await.until(WAIT, "not ready, naming the topic", () -> String.valueOf(service.readiness())
                    .startsWith("cannot record an error record in " + topic));
            long after = f.produce(f.command("SET", "after", "1"));
            assertStillAbsent(f, "after");
            createTopic(f, topic, 1_000_000);
            Await.equal(WAIT, "applying goes on once the topic exists", "1", () -> f.get("after"));
            Await.equal(WAIT, "checkpoint", after, f::checkpoint);
            Await.until(WAIT, "ready again", () -> service.readiness() == null);
            assertEquals(1, f.readAll(topic).size());
        }
    }

    @Test
    void aDeadLetterTopicThatCannotBeCreatedMakesTheAgentNotReadyFromTheStartNamingIt() throws Exception {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            String topic = ReplicationPolicy.deadLetterTopic(f.self);
            // Kafka refuses a topic whose name differs from an existing one only by '.' versus '_'.
            String colliding = topic.replace('.', '_');
            createTopic(f, colliding, 1_000_000);
            ApplyService service = f.startApply();
            Await.until(WAIT, "not ready, naming the topic", () -> String.valueOf(service.readiness())
                    .startsWith("topic(s) " + topic + " missing and not creatable"));
            try (Admin admin = admin(f)) {
                admin.deleteTopics(List.of(colliding)).all().get(30, TimeUnit.SECONDS);
            }
            Await.until(WAIT, "colliding topic gone", () -> {
                try {
                    createTopic(f, topic, 1_000_000);
                    return true;
                } catch (Exception e) {
                    return false;
                }
            });
            Await.until(WAIT, "ready once the topic exists", () -> service.readiness() == null);
        }
    }

    /** Applying is paused: {@code key} stays unwritten while the agent retries (watched for a second). */
    private static void assertStillAbsent(PeerTopicFixture f, String key) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (System.nanoTime() < until) {
            assertNull(f.get(key), key + " applied while a dead letter was not in Kafka");
            Thread.sleep(100);
        }
    }

    private static Admin admin(PeerTopicFixture f) {
        return Admin.create(Map.of("bootstrap.servers", f.kafka.bootstrap()));
    }

    private static void createTopic(PeerTopicFixture f, String topic, int maxMessageBytes) throws Exception {
        try (Admin admin = admin(f)) {
            admin.createTopics(List.of(new NewTopic(topic, Optional.of(1), Optional.empty())
                    .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxMessageBytes)))))
                    .all().get(30, TimeUnit.SECONDS);
        }
    }

    private static void setLimit(PeerTopicFixture f, String topic, int maxMessageBytes) throws Exception {
        try (Admin admin = admin(f)) {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            admin.incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(
                    new ConfigEntry(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxMessageBytes)),
                    AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
        }
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
