package io.ferry.apply.conflict;

import io.ferry.apply.findings.FindingsOutbox;
import io.ferry.apply.metrics.ApplyMetrics;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.ConflictingWrite;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Records conflicts (seen in a reply, or concurrent writes) in {@code ferry.<applier>.conflicts} and counts them by type. */
public final class ConflictPublisher {

    private static final Logger LOG = LoggerFactory.getLogger(ConflictPublisher.class);

    private final FindingsOutbox outbox;
    private final String applier;
    private final String topic;
    private final AvroSerde<Conflict> serde = AvroSerde.conflicts();
    private final ApplyMetrics metrics;

    public ConflictPublisher(FindingsOutbox outbox, String applier, ApplyMetrics metrics) {
        this.outbox = outbox;
        this.applier = applier;
        this.topic = ReplicationPolicy.conflictsTopic(applier);
        this.metrics = metrics;
    }

    public void publish(ConflictType type, ChangeEvent event, Command command, byte[] key) {
        send(type, event, Conflict.newBuilder()
                .setApplier(applier)
                .setOrigin(event.getOrigin())
                .setType(type.name())
                .setKey(key != null ? ByteBuffer.wrap(key) : null)
                .setPosition(event.getPosition())
                .setCommand(command)
                .setTimeMillis(Instant.now())
                .build(), key);
        LOG.info("conflict {} on key from {} at {}", type, event.getOrigin(), event.getPosition());
    }

    /**
     * A concurrent pair: {@code write} (the peer's) and {@code other} (the one it met), the policy and what was done.
     *
     * @param db the key's db
     */
    public void publishConcurrent(ConflictType type, ChangeEvent event, int db, byte[] key, ConflictingWrite write,
                                  ConflictingWrite other, String policy, String winner, String resolution) {
        publish(type, event, db, key, write, other, policy, winner, resolution, null);
    }

    /**
     * A key whose value {@code winner} (when the policy picks one) is asked to re-publish ({@code resolution} REQUESTED,
     * else RECORDED), once it has applied {@code after} (empty: at once).
     */
    public void publishRequest(ConflictType type, ChangeEvent event, int db, byte[] key, ConflictingWrite write, String policy,
                               String winner, String resolution, AppliedVector after) {
        publish(type, event, db, key, write, null, policy, winner, resolution, after.isEmpty() ? null : after.asMap());
    }

    private void publish(ConflictType type, ChangeEvent event, int db, byte[] key, ConflictingWrite write, ConflictingWrite other,
                         String policy, String winner, String resolution, Map<String, Long> republishAfter) {
        send(type, event, Conflict.newBuilder()
                .setApplier(applier)
                .setOrigin(event.getOrigin())
                .setType(type.name())
                .setKey(ByteBuffer.wrap(key))
                .setPosition(event.getPosition())
                .setCommand(write.getCommand())
                .setTimeMillis(Instant.now())
                .setDb(db)
                .setWrite(write)
                .setOther(other)
                .setPolicy(policy)
                .setWinner(winner)
                .setResolution(resolution)
                .setRepublishAfter(republishAfter)
                .build(), key);
        metrics.peer(event.getOrigin()).resolution(type.name(), resolution);
        if (LOG.isDebugEnabled()) {
            LOG.debug("conflict {} in db {}: {} vs {}; policy {}, winner {}, {}", type, db, write.getOrigin(),
                    other == null ? "this instance's state" : other.getOrigin(), policy, winner, resolution);
        }
    }

    private void send(ConflictType type, ChangeEvent event, Conflict conflict, byte[] key) {
        byte[] value = serde.encode(conflict);
        if (!outbox.fits(key, value)) {
            // Only possible with peers whose record limit exceeds this mesh file's: keep the commands' names and keys.
            conflict.setCommand(keyOnly(conflict.getCommand()));
            if (conflict.getWrite() != null) {
                conflict.getWrite().setCommand(keyOnly(conflict.getWrite().getCommand()));
            }
            if (conflict.getOther() != null) {
                conflict.getOther().setCommand(keyOnly(conflict.getOther().getCommand()));
            }
            value = serde.encode(conflict);
        }
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, key, value);
        record.headers().add(ReplicationPolicy.ORIGIN_HEADER, event.getOrigin().getBytes(StandardCharsets.UTF_8));
        outbox.send(record);
        metrics.peer(event.getOrigin()).conflict(type.name());
    }

    private static Command keyOnly(Command command) {
        return command == null || command.getArgs().size() <= 1 ? command
                : new Command(command.getName(), List.of(command.getArgs().get(0)));
    }
}
