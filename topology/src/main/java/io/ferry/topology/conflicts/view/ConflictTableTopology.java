package io.ferry.topology.conflicts.view;

import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.Conflict;
import java.util.Collection;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka Streams topology of the mesh-wide conflict table:
 * <pre>
 * ferry.&lt;instance&gt;.conflicts (every instance, by pattern)
 *   → decode, key by (db, key, class), name the conflict ({@link SightingMapper})
 *   → repartition by that key
 *   → aggregate into one row per key ({@link ConflictEntryMerger}), store {@link ConflictTableNames#STORE} (queryable)
 *   → ferry.&lt;mesh&gt;.conflicts.table (compacted)
 * </pre>
 * The store is in memory and restored from its changelog topic when the monitor starts.
 */
public final class ConflictTableTopology {

    /** What the topology reads, for the monitor's meters. */
    public interface Listener {
        void recordRead(String topic);

        void recordUndecodable(String topic, String reason);

        Listener NONE = new Listener() {
            @Override
            public void recordRead(String topic) {
            }

            @Override
            public void recordUndecodable(String topic, String reason) {
            }
        };
    }

    private ConflictTableTopology() {
    }

    public static Topology build(String mesh, Collection<String> instances, Listener listener) {
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(ConflictTableNames.conflictsTopics(instances),
                        Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("conflicts-topics"))
                .process(() -> new DecodeProcessor(listener), Named.as("decode-conflicts"))
                .groupByKey(Grouped.with("conflicts-by-key", ConflictTableSerdes.keys(), ConflictTableSerdes.observations()))
                .aggregate(() -> null, (key, observation, row) -> ConflictEntryMerger.merge(key, row, observation),
                        Named.as("merge-sightings"),
                        Materialized.<ConflictTableKey, ConflictTableRow>as(Stores.inMemoryKeyValueStore(ConflictTableNames.STORE))
                                .withKeySerde(ConflictTableSerdes.keys())
                                .withValueSerde(ConflictTableSerdes.rows()))
                .toStream(Named.as("table-updates"))
                .to(ConflictTableNames.tableTopic(mesh),
                        Produced.with(ConflictTableSerdes.keys(), ConflictTableSerdes.rows()).withName("write-table"));
        return builder.build();
    }

    /** Decodes a conflicts-topic record; one that is not a Ferry conflict is counted, logged and skipped. */
    private static final class DecodeProcessor implements Processor<byte[], byte[], ConflictTableKey, ConflictObservation> {

        private static final Logger LOG = LoggerFactory.getLogger(DecodeProcessor.class);

        private final Listener listener;
        private final AvroSerde<Conflict> serde = AvroSerde.conflicts();
        private ProcessorContext<ConflictTableKey, ConflictObservation> context;

        DecodeProcessor(Listener listener) {
            this.listener = listener;
        }

        @Override
        public void init(ProcessorContext<ConflictTableKey, ConflictObservation> context) {
            this.context = context;
        }

        @Override
        public void process(Record<byte[], byte[]> record) {
            RecordMetadata source = context.recordMetadata().orElseThrow();
            if (record.value() == null) {
                return;
            }
            listener.recordRead(source.topic());
            Conflict conflict;
            try {
                conflict = serde.decode(record.value());
            } catch (SerializationException e) {
                listener.recordUndecodable(source.topic(), e.getMessage());
                LOG.warn("{}-{}@{}: skipped, {}", source.topic(), source.partition(), source.offset(), e.getMessage());
                return;
            }
            SightingMapper.Mapped mapped = SightingMapper.map(conflict, source.topic(), source.partition(), source.offset());
            context.forward(record.withKey(mapped.key()).withValue(mapped.observation()));
        }
    }
}
