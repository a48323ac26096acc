package io.ferry.e2e.convergence;

import io.ferry.e2e.mesh.MeshUnderTest;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * For a test that failed to converge: every write to the diverged keys as each instance's capture
 * published it (origin, offset, source time, applied vector, command), so the failure report shows
 * the interleaving that led there.
 */
public final class KeyHistory {

    /** The tail of each origin's writes a report shows; -Dferry.convergence.historyLines=N shows more. */
    private static final int MAX_LINES_PER_ORIGIN = Integer.getInteger("ferry.convergence.historyLines", 25);

    private KeyHistory() {
    }

    public static String of(MeshUnderTest mesh, Set<String> keys) {
        return of(mesh, keys, MAX_LINES_PER_ORIGIN);
    }

    /** The last {@code linesPerOrigin} writes of each origin to each of {@code keys}, with their applied vectors. */
    static String of(MeshUnderTest mesh, Set<String> keys, int linesPerOrigin) {
        Map<String, List<String>> lines = keys.stream().collect(Collectors.toMap(k -> k, k -> new ArrayList<>()));
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, mesh.local().kafka().bootstrap());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        AvroSerde<ChangeEvent> serde = AvroSerde.changeEvents();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            for (String name : mesh.names()) {
                Map<String, Integer> before = new java.util.HashMap<>();
                lines.forEach((key, list) -> before.put(key, list.size()));
                TopicPartition partition = new TopicPartition(ReplicationPolicy.changesTopic(mesh.id(name)), 0);
                consumer.assign(List.of(partition));
                consumer.seekToBeginning(List.of(partition));
                long end = consumer.endOffsets(List.of(partition)).get(partition);
                while (consumer.position(partition) < end) {
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofSeconds(1))) {
                        ChangeEvent event;
                        try {
                            event = serde.decode(record.value());
                        } catch (RuntimeException e) {
                            continue;
                        }
                        for (ByteBuffer key : event.getKeys()) {
                            List<String> forKey = lines.get(StandardCharsets.UTF_8.decode(key.duplicate()).toString());
                            if (forKey != null) {
                                Header applied = record.headers().lastHeader(ReplicationPolicy.APPLIED_HEADER);
                                Header expiry = record.headers().lastHeader(ReplicationPolicy.EXPIRY_HEADER);
                                Header resync = record.headers().lastHeader(ReplicationPolicy.RESYNC_HEADER);
                                boolean republished = record.headers().lastHeader(ReplicationPolicy.REPUBLISHED_HEADER) != null;
                                forKey.add(String.format("    %s@%d %s%s%s t=%d applied=[%s]%s %s", name, record.offset(), event.getKind(),
                                        resync == null ? "" : " resync-of=" + new String(resync.value(), StandardCharsets.UTF_8),
                                        republished ? " republished" : "",
                                        event.getCaptureTimeMillis().toEpochMilli(),
                                        applied == null ? "" : new String(applied.value(), StandardCharsets.UTF_8),
                                        expiry == null ? "" : " expiry=[" + new String(expiry.value(), StandardCharsets.UTF_8) + "]",
                                        commands(event)));
                            }
                        }
                    }
                }
                // the last writes of each origin matter: keep its tail only
                lines.forEach((key, list) -> {
                    int from = before.get(key);
                    int keep = Math.max(from, list.size() - linesPerOrigin);
                    list.subList(from, keep).clear();
                });
            }
        }
        StringBuilder out = new StringBuilder();
        lines.forEach((key, list) -> {
            out.append("  writes to ").append(key).append(" (the last ").append(linesPerOrigin).append(" of each origin):\n");
            list.forEach(l -> out.append(l).append('\n'));
        });
        return out.toString();
    }

    private static String commands(ChangeEvent event) {
        String text = event.getCommands().stream().map(c -> c.getName() + c.getArgs().stream()
                .map(a -> " " + (a.remaining() > 24 ? "<" + a.remaining() + " bytes>" : StandardCharsets.UTF_8.decode(a.duplicate())))
                .collect(Collectors.joining())).collect(Collectors.joining("; "));
        return text.length() > 160 ? text.substring(0, 160) + "…" : text;
    }
}
