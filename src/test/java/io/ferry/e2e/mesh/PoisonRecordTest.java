package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.localmesh.Await;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** Issue 3, test 6: a record that is not a change event goes to the dead-letter topic; applying goes on. */
class PoisonRecordTest {

    @Test
    void aPoisonRecordInAPeerTopicIsDeadLetteredAndWhatFollowsIsApplied() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.start("A", "B")) {
            mesh.redis("A").set("before", "1");
            Await.equal(MeshUnderTest.CONVERGE, "write before the poison on B", "1", () -> mesh.redis("B").get("before"));
            byte[] poison = "\u00c3\u0001 definitely not a change event".getBytes(StandardCharsets.UTF_8);
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers", mesh.local().kafka().bootstrap()),
                    new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>(ReplicationPolicy.changesTopic(mesh.id("A")), poison)).get();
            }
            mesh.redis("A").set("after", "2");
            mesh.redis("A").incr("after:counter");
            Await.equal(MeshUnderTest.CONVERGE, "write after the poison on B", "2", () -> mesh.redis("B").get("after"));
            // the INCR may come in a later batch than the SET; once there it is applied once
            Await.equal(MeshUnderTest.CONVERGE, "the INCR after the poison on B", "1", () -> mesh.redis("B").get("after:counter"));
            Await.until(MeshUnderTest.CONVERGE, "dead letter counted",
                    () -> mesh.metric("B", "apply", "ferry_apply_dead_letters_total", "reason=\"UNDECODABLE\"") == 1);
            List<DeadLetter> letters = mesh.records(ReplicationPolicy.deadLetterTopic(mesh.id("B"))).stream()
                    .map(r -> AvroSerde.deadLetters().decode(r.value())).toList();
            assertEquals(1, letters.size());
            assertEquals("UNDECODABLE", letters.get(0).getReason());
            assertEquals(ReplicationPolicy.changesTopic(mesh.id("A")), letters.get(0).getTopic());
            byte[] kept = new byte[letters.get(0).getRecord().remaining()];
            letters.get(0).getRecord().duplicate().get(kept);
            assertEquals(new String(poison, StandardCharsets.UTF_8), new String(kept, StandardCharsets.UTF_8));
        }
    }
}
