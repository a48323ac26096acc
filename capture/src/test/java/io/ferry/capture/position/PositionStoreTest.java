package io.ferry.capture.position;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

class PositionStoreTest {

    @Test
    void aPositionRecordCarriesThePositionTheAppliedVectorAndTheKeyCountThatLoadReadsBack() {
        SourcePosition position = new SourcePosition("r".repeat(40), 12345L, 0);
        AppliedVector applied = AppliedVector.of(Map.of(AppliedVector.entry("b", 0), 41L, AppliedVector.entry("c", 0), 7L));
        ProducerRecord<byte[], byte[]> record = PositionStore.record("a", 0, position, applied, 1_000_000);

        assertEquals(ReplicationPolicy.offsetsTopic("a"), record.topic());
        assertEquals(ReplicationPolicy.positionKey("a", 0), new String(record.key(), StandardCharsets.UTF_8));
        assertEquals(position, AvroSerde.capturePositions().decode(record.value()).getPosition());
        assertEquals(applied, AppliedVector.decode(record.headers().lastHeader(ReplicationPolicy.APPLIED_HEADER).value()));
        assertEquals(1_000_000, PositionStore.sourceKeys(record.headers().lastHeader(ReplicationPolicy.SOURCE_KEYS_HEADER)));
    }

    @Test
    void anUnknownKeyCountWritesNoKeyCountHeader() {
        ProducerRecord<byte[], byte[]> record = PositionStore.record("a", 0, new SourcePosition("r".repeat(40), 1L, 0),
                AppliedVector.EMPTY, -1);
        assertNull(record.headers().lastHeader(ReplicationPolicy.SOURCE_KEYS_HEADER));
    }
}
