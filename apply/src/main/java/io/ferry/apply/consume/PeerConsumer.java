package io.ferry.apply.consume;

import io.ferry.apply.batch.PartitionState;
import io.ferry.apply.redis.RedisTargetClient;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.ApplySettings;
import io.ferry.topology.KafkaEndpoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the changes topics of the peers that live in one Kafka cluster, in the applier's consumer
 * group. Where to read is decided by the target Redis, not by the group: each newly assigned
 * partition is paused until its checkpoint has been read from Redis, then sought to checkpoint + 1
 * (or the beginning when there is none, so a new member applies the peer's snapshot and history).
 * Group offsets are committed only so Kafka's tools show the lag.
 */
public final class PeerConsumer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PeerConsumer.class);
    private static final long COMMIT_INTERVAL_NANOS = 1_000_000_000L;

    private final String self;
    private final KafkaEndpoint kafka;
    private final Map<String, String> peerOfTopic;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<TopicPartition, PartitionState> states = new HashMap<>();
    private final Set<TopicPartition> pending = new LinkedHashSet<>();
    private boolean fenceNeeded;
    private final Duration replay;
    private final Set<TopicPartition> replayedOnce = new HashSet<>();
    private static final long MAX_REPLAY_RECORDS = 200_000;
    private long lastCommitNanos = System.nanoTime() - COMMIT_INTERVAL_NANOS;
    private Map<TopicPartition, OffsetAndMetadata> lastCommitted = Map.of();

    /**
     * @param peerOfTopic the changes topics to read, each mapped to the peer that owns it
     * @param memberId    static group member id (group.instance.id) so a restarted agent takes its
     *                    partitions back without waiting for a session timeout; null for dynamic membership
     */
    public PeerConsumer(String self, KafkaEndpoint kafka, Map<String, String> peerOfTopic, ApplySettings settings, String memberId) {
        this(self, kafka, peerOfTopic, settings, memberId, Duration.ZERO);
    }

    /**
     * @param replay how far back before its checkpoint a partition is read again the first time this
     *               process gets it: those records are not applied again, conflict detection re-learns them
     */
    public PeerConsumer(String self, KafkaEndpoint kafka, Map<String, String> peerOfTopic, ApplySettings settings, String memberId,
                        Duration replay) {
        this.self = self;
        this.replay = replay;
        this.kafka = kafka;
        this.peerOfTopic = Map.copyOf(peerOfTopic);
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, ReplicationPolicy.applyGroup(self));
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, ReplicationPolicy.applyGroup(self) + (memberId != null ? "-" + memberId : ""));
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(Math.min(20_000, Math.max(500, settings.maxBatchEvents() * 4))));
        // fetched bytes wait in the heap next to the batch being applied (big values come as many full records)
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(Math.min(8L * 1024 * 1024, Runtime.getRuntime().maxMemory() / 16)));
        props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(Math.min(50L * 1024 * 1024, Runtime.getRuntime().maxMemory() / 8)));
        props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        // Peers' topics may be created after this agent starts: notice them within seconds.
        props.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "3000");
        props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
        props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "2000");
        if (memberId != null) {
            props.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, ReplicationPolicy.applyGroup(self) + "-" + memberId);
        }
        this.consumer = new KafkaConsumer<>(props);
    }

    public void subscribe() {
        consumer.subscribe(peerOfTopic.keySet(), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                if (partitions.isEmpty()) {
                    return;
                }
                LOG.info("assigned {}; reading checkpoints from Redis before consuming", partitions);
                // Paused until the checkpoint is read; the placeholder reset only avoids a position error.
                consumer.pause(partitions);
                consumer.seekToBeginning(partitions);
                pending.addAll(partitions);
                fenceNeeded = true;
            }

            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                if (partitions.isEmpty()) {
                    return;
                }
                LOG.info("revoked {}", partitions);
                commitSync(partitions);
                forget(partitions);
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
                LOG.warn("lost {} without a clean revoke; the next owner resumes from Redis's checkpoints", partitions);
                forget(partitions);
            }
        });
    }

    private void forget(Collection<TopicPartition> partitions) {
        partitions.forEach(states::remove);
        pending.removeAll(partitions);
    }

    public String peerOf(TopicPartition partition) {
        return peerOfTopic.get(partition.topic());
    }

    public boolean hasPending() {
        return !pending.isEmpty();
    }

    /**
     * Reads the checkpoint of every partition waiting for one and positions the consumer after it.
     * A Redis failure leaves the remaining partitions pending; a gap in Kafka is fatal.
     */
    public void resolvePending(RedisTargetClient redis) {
        if (pending.isEmpty()) {
            return;
        }
        if (fenceNeeded) {
            // Only for partitions Kafka just handed over, not after a Redis outage: replicas reconnecting
            // after an outage must not disconnect each other in turn.
            int fenced = redis.fenceOthers();
            if (fenced > 0) {
                LOG.info("disconnected {} other apply connection(s) of '{}' so that no stale owner of {} writes after this rebalance",
                        fenced, self, pending);
            }
            fenceNeeded = false;
        }
        List<TopicPartition> waiting = new ArrayList<>(pending);
        Map<TopicPartition, Long> starts = consumer.beginningOffsets(waiting);
        Map<TopicPartition, Long> ends = consumer.endOffsets(waiting);
        for (TopicPartition tp : waiting) {
            String peer = peerOf(tp);
            Long checkpoint = redis.readCheckpoint(ReplicationPolicy.checkpointKey(peer, tp.partition()));
            long start = starts.getOrDefault(tp, 0L);
            long end = ends.getOrDefault(tp, 0L);
            if (checkpoint == null) {
                if (start > 0) {
                    // applying a tail (INCRs and LPUSHes on missing bases, no snapshot) would look like success
                    throw new OffsetGapException(tp + ": instance '" + self + "' has no checkpoint for " + peer + "'s changes"
                            + " (a new or wiped instance) and Kafka (" + kafka + ") no longer holds that topic from its"
                            + " beginning: it starts at offset " + start + ", so " + start + " records, " + peer
                            + "'s snapshot among them, are gone and applying the rest would not give " + self + " "
                            + peer + "'s data." + OffsetGapException.noCheckpointRecovery(self, peer, tp.partition(), start), null);
                }
                LOG.info("{}: no checkpoint in Redis; applying {}'s topic from its beginning (offset {})", tp, peer, start);
                consumer.seekToBeginning(List.of(tp));
                states.put(tp, new PartitionState(tp, peer, -1));
            } else {
                long next = checkpoint + 1;
                if (next < start) {
                    throw new OffsetGapException(tp + ": instance '" + self + "' has applied " + peer + "'s changes up to offset "
                            + checkpoint + ", but Kafka (" + kafka + ") now starts this partition at offset " + start
                            + ": " + (start - next) + " records were deleted by retention before they were applied."
                            + OffsetGapException.recovery(self, peer, tp.partition()), null);
                }
                if (next > end) {
                    throw new OffsetGapException(tp + ": instance '" + self + "' has applied " + peer + "'s changes up to offset "
                            + checkpoint + ", but the partition ends at offset " + end + " in Kafka (" + kafka
                            + "): the topic was deleted or recreated." + OffsetGapException.recovery(self, peer, tp.partition()), null);
                }
                LOG.info("{}: resuming after checkpoint {} ({} records to catch up)", tp, checkpoint, end - next);
                consumer.seek(tp, replayFrom(tp, start, next));
                states.put(tp, new PartitionState(tp, peer, checkpoint));
            }
            pending.remove(tp);
            consumer.resume(List.of(tp));
        }
    }

    /**
     * Where to read {@code tp} from: {@code next}, or the first time this process gets it, up to
     * {@code replay} earlier (and at most {@link #MAX_REPLAY_RECORDS} records) so conflict detection sees
     * the writes applied just before a restart.
     */
    private long replayFrom(TopicPartition tp, long start, long next) {
        if (replay.isZero() || !replayedOnce.add(tp)) {
            return next;
        }
        long from = Math.max(start, next - MAX_REPLAY_RECORDS);
        try {
            var since = consumer.offsetsForTimes(Map.of(tp, System.currentTimeMillis() - replay.toMillis())).get(tp);
            from = Math.max(from, since == null ? next : since.offset());
        } catch (RuntimeException e) {
            LOG.debug("{}: cannot look up offsets by time ({}); not re-reading", tp, e.toString());
            from = next;
        }
        return Math.min(from, next);
    }

    /** Pauses everything and forgets positions: after a Redis failure every checkpoint is read again. */
    public void resetFromCheckpoints() {
        Set<TopicPartition> assigned = consumer.assignment();
        consumer.pause(assigned);
        states.clear();
        pending.clear();
        pending.addAll(assigned);
    }

    public ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
        try {
            return consumer.poll(timeout);
        } catch (OffsetOutOfRangeException e) {
            TopicPartition tp = e.partitions().iterator().next();
            String peer = peerOf(tp);
            throw new OffsetGapException(tp + ": Kafka (" + kafka + ") no longer holds offset " + e.offsetOutOfRangePartitions().get(tp)
                    + " that instance '" + self + "' needs next from " + peer + " (retention passed it)."
                    + OffsetGapException.recovery(self, peer, tp.partition()), e);
        }
    }

    /** State of an assigned, positioned partition; null while it waits for its checkpoint. */
    /** Kafka delivers {@code partition} again from {@code offset} (records read but held back). */
    public void rewind(TopicPartition partition, long offset) {
        consumer.seek(partition, offset);
    }

    public PartitionState state(TopicPartition partition) {
        return states.get(partition);
    }

    public Collection<PartitionState> states() {
        return states.values();
    }

    /**
     * Commits the applied checkpoints as group offsets without waiting, at most once per
     * {@link #COMMIT_INTERVAL_NANOS} and only when they moved: they only show the lag in Kafka's tools
     * (Redis holds the truth), so a commit per batch would cost the broker and this agent for nothing.
     * Revocation and close commit synchronously whatever is left.
     */
    public void commitAppliedWhenDue() {
        long now = System.nanoTime();
        if (now - lastCommitNanos < COMMIT_INTERVAL_NANOS) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = offsets(states.values());
        if (offsets.isEmpty() || offsets.equals(lastCommitted)) {
            return;
        }
        lastCommitNanos = now;
        lastCommitted = offsets;
        consumer.commitAsync(offsets, (o, e) -> {
            if (e != null) {
                LOG.debug("group offset commit failed (Redis holds the truth): {}", e.toString());
            }
        });
    }

    public void commitSync(Collection<TopicPartition> partitions) {
        List<PartitionState> applied = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            PartitionState state = states.get(tp);
            if (state != null) {
                applied.add(state);
            }
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = offsets(applied);
        if (offsets.isEmpty()) {
            return;
        }
        try {
            consumer.commitSync(offsets, Duration.ofSeconds(10));
        } catch (RuntimeException e) {
            LOG.warn("group offset commit failed (Redis holds the truth): {}", e.toString());
        }
    }

    private static Map<TopicPartition, OffsetAndMetadata> offsets(Collection<PartitionState> applied) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (PartitionState state : applied) {
            if (state.checkpoint() >= 0) {
                offsets.put(state.partition(), new OffsetAndMetadata(state.nextOffset()));
            }
        }
        return offsets;
    }

    /** Records behind, per peer, for the partitions whose position is known. */
    public Map<String, Long> lagByPeer() {
        Map<String, Long> lag = new HashMap<>();
        for (TopicPartition tp : new HashSet<>(consumer.assignment())) {
            OptionalLong behind = consumer.currentLag(tp);
            lag.merge(peerOf(tp), behind.isPresent() ? behind.getAsLong() : 0L, Long::sum);
        }
        return lag;
    }

    public Set<TopicPartition> assignment() {
        return consumer.assignment();
    }

    public void wakeup() {
        consumer.wakeup();
    }

    @Override
    public void close() {
        commitSync(new ArrayList<>(states.keySet()));
        consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(10)));
    }
}
