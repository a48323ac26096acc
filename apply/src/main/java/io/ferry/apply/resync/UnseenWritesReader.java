package io.ferry.apply.resync;

import io.ferry.apply.batch.BatchBuilder;
import io.ferry.apply.batch.ChangeEventDecoder;
import io.ferry.apply.convergence.ConflictClassifier;
import io.ferry.apply.convergence.KeyId;
import io.ferry.apply.redis.RawCommand;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.KafkaEndpoint;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The keys of every write this instance holds, or will apply, that a resyncing origin had not applied when
 * its snapshot was taken: this instance's own writes past the origin's checkpoint of them, and every third
 * instance's writes past the origin's checkpoint of those (read from their changes topics up to their ends,
 * so writes this instance has consumed but not yet applied count too), each key with where its unseen writes
 * end in every partition read ({@link #unseenEnds}). Kept up to date by reading on from
 * where the last {@link #refresh} stopped. Bounded: past {@code maxKeys} keys or {@code maxRecords} records
 * it gives up ({@link #overflowed()}), and the caller must treat every key as guarded.
 */
final class UnseenWritesReader implements AutoCloseable {

    private final String self;
    private final long maxKeys;
    private final long maxRecords;
    private final ChangeEventDecoder decoder = new ChangeEventDecoder();
    /** One consumer per Kafka cluster: each instance's topic lives in its own (regional) Kafka. */
    private final Map<String, KafkaConsumer<byte[], byte[]>> consumers = new HashMap<>();
    private final Map<TopicPartition, KafkaConsumer<byte[], byte[]>> byPartition = new HashMap<>();
    /** The partitions read, each with its index in {@link #keys}' arrays and its instance. */
    private final Map<TopicPartition, Integer> slots = new HashMap<>();
    private final List<String> slotInstances = new ArrayList<>();
    private final List<Integer> slotPartitions = new ArrayList<>();
    /**
     * Keys a command the origin had not applied wrote, each with the offset of the last such write in every partition
     * read (by slot; -1: none there): what the origin must have applied before its value of the key holds them all.
     */
    private final Map<KeyId, long[]> keys = new HashMap<>();
    /** Keys only a snapshot (another instance's full resync, or first start) holds in the unseen range. */
    private final Set<KeyId> snapshotted = new HashSet<>();
    /**
     * Per key of {@link #keys}, its unseen writes (this instance's own and third instances'), each partition's in
     * stream order, while every one of them can be run again on the origin's copy of the key ({@link #notReplayable});
     * null steps once one could not, or once a snapshot touched the key.
     */
    private final Map<KeyId, Replay> replays = new HashMap<>();
    private final long maxReplayBytes;
    private long replayBytes;
    /** Why the last {@link #replay} answered null. */
    private String refusal;
    private long records;
    private boolean overflowed;
    /** Per replication id, the highest source offset this instance's own capture had published under it, as read so far. */
    private final Map<String, Long> ownPositions = new HashMap<>();

    /**
     * @param origin the resyncing instance; {@code vector} its applied vector at the snapshot
     * @param peers  every instance but this one (the origin's own topic is not read)
     */
    UnseenWritesReader(String self, InstanceConfig own, List<InstanceConfig> peers, String origin, AppliedVector vector,
                       long maxKeys, long maxRecords, long maxReplayBytes) {
        this.self = self;
        this.maxKeys = maxKeys;
        this.maxRecords = maxRecords;
        this.maxReplayBytes = maxReplayBytes;
        try {
            assign(own.kafka(), self, vector);
            for (InstanceConfig peer : peers) {
                if (!peer.id().equals(origin)) {
                    assign(peer.kafka(), peer.id(), vector);
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void assign(KafkaEndpoint kafka, String instance, AppliedVector vector) {
        KafkaConsumer<byte[], byte[]> consumer = consumers.computeIfAbsent(kafka.bootstrap(), b -> consumer(kafka));
        String topic = ReplicationPolicy.changesTopic(instance);
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
        if (infos == null) {
            return; // no topic yet: that instance has written nothing
        }
        List<TopicPartition> assigned = new ArrayList<>(consumer.assignment());
        List<TopicPartition> added = new ArrayList<>();
        for (PartitionInfo info : infos) {
            TopicPartition partition = new TopicPartition(topic, info.partition());
            assigned.add(partition);
            added.add(partition);
            byPartition.put(partition, consumer);
            slots.put(partition, slots.size());
            slotInstances.add(instance);
            slotPartitions.add(info.partition());
        }
        consumer.assign(assigned);
        Map<TopicPartition, Long> starts = consumer.beginningOffsets(added, Duration.ofSeconds(10));
        for (TopicPartition partition : added) {
            // the origin had applied up to this offset: everything after it is unseen by the snapshot
            long from = vector.applied(instance, partition.partition()) + 1;
            consumer.seek(partition, Math.max(from, starts.getOrDefault(partition, 0L)));
        }
    }

    private static KafkaConsumer<byte[], byte[]> consumer(KafkaEndpoint kafka) {
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false"); // reading must never create a topic
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Reads every assigned partition on to its current end (committed records only). */
    void refresh() {
        for (KafkaConsumer<byte[], byte[]> consumer : consumers.values()) {
            if (consumer.assignment().isEmpty()) {
                continue;
            }
            Map<TopicPartition, Long> ends = consumer.endOffsets(consumer.assignment(), Duration.ofSeconds(10));
            while (!overflowed && behind(consumer, ends)) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    take(record);
                }
            }
        }
    }

    private static boolean behind(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> ends) {
        for (Map.Entry<TopicPartition, Long> end : ends.entrySet()) {
            if (consumer.position(end.getKey(), Duration.ofSeconds(10)) < end.getValue()) {
                return true;
            }
        }
        return false;
    }

    private void take(ConsumerRecord<byte[], byte[]> record) {
        if (++records > maxRecords) {
            overflowed = true;
            return;
        }
        ChangeEvent event;
        try {
            event = decoder.decode(record.value());
        } catch (SerializationException e) {
            return; // dead-lettered by whoever applies it: it changes nothing there
        }
        boolean own = event.getOrigin().equals(self);
        if (own) {
            ownPositions.merge(event.getPosition().getReplid(), event.getPosition().getOffset(), Math::max);
        }
        EventKind kind = event.getKind();
        if (kind == EventKind.HEARTBEAT || kind == EventKind.SNAPSHOT_START || kind == EventKind.SNAPSHOT_END) {
            return;
        }
        if (kind == EventKind.SNAPSHOT_CHUNK && event.getChunk() != null) {
            KeyId id = keyId(event.getDb(), event.getChunk().getKey());
            if (id != null) {
                snapshotted.add(id);
                replayed(id, null, "a snapshot's copy of it");
                bounded();
            }
            return;
        }
        Integer slot = slots.get(new TopicPartition(record.topic(), record.partition()));
        String notReplayable = notReplayable(event, record);
        Step step = notReplayable == null ? step(slot, record, own, event) : null;
        String why = step != null ? null : (notReplayable == null ? "an unreadable applied vector" : notReplayable) + " at "
                + slotInstances.get(slot) + ":" + slotPartitions.get(slot) + "@" + record.offset();
        for (ByteBuffer key : event.getKeys()) {
            KeyId id = keyId(event.getDb(), key);
            if (id == null) {
                continue;
            }
            if (kind == EventKind.SNAPSHOT_KEY) {
                snapshotted.add(id);
                replayed(id, null, "a snapshot's copy of it");
            } else {
                long[] ends = keys.computeIfAbsent(id, k -> newEnds());
                ends[slot] = Math.max(ends[slot], record.offset());
                replayed(id, step, why);
            }
            bounded();
        }
    }

    /** {@code record}'s write as a step of a replay; null when its applied vector (an own write's order) is unreadable. */
    private static Step step(int slot, ConsumerRecord<byte[], byte[]> record, boolean own, ChangeEvent event) {
        AppliedVector vector = null;
        if (own) {
            Header header = record.headers().lastHeader(ReplicationPolicy.APPLIED_HEADER);
            try {
                vector = header == null || header.value() == null ? AppliedVector.EMPTY : AppliedVector.decode(header.value());
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
        // only a single whole-value write can lose a conflict and be left out (see Convergence#settle)
        boolean skippable = event.getCommands().size() == 1 && ConflictClassifier.wholeValue(event.getCommands().get(0));
        return new Step(slot, record.offset(), vector, event.getCommands().stream().map(BatchBuilder::toRaw).toList(), skippable);
    }

    /**
     * Why {@code event} cannot be run again on another copy of its key as it was run here (by plain commands, as the
     * origin's apply agent will run it on its copy); null when it can: it changes its one key and nothing else, with no
     * script, no staged argument and no expiry sent alongside.
     */
    static String notReplayable(ChangeEvent event, ConsumerRecord<byte[], byte[]> record) {
        if (event.getKind() != EventKind.COMMAND && event.getKind() != EventKind.TRANSACTION) {
            return "a " + event.getKind();
        }
        if (event.getKeys().size() != 1 || event.getCommands().isEmpty()) {
            return "a write of " + event.getKeys().size() + " keys";
        }
        if (record.headers().lastHeader(ReplicationPolicy.EXPIRY_HEADER) != null) {
            return "a write sent with its keys' expiry";
        }
        for (Command command : event.getCommands()) {
            String name = command.getName().toUpperCase(java.util.Locale.ROOT);
            if (NOT_REPLAYED.contains(name) || command.getArgs().isEmpty() || command.getArgs().size() > MAX_REPLAYED_ARGS) {
                return "a " + name;
            }
        }
        return null;
    }

    /** Commands never run again by a rebuild: scripts and functions (staged arguments travel as EVAL too), and any key-less admin command. */
    private static final Set<String> NOT_REPLAYED = Set.of("EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO",
            "FUNCTION", "SCRIPT", "FLUSHALL", "FLUSHDB", "SWAPDB", "MOVE", "COPY", "RENAME", "RENAMENX", "MIGRATE", "SELECT",
            "MULTI", "EXEC", "DISCARD", "PUBLISH", "SPUBLISH");
    /** Arguments of one replayed command at most: the rebuild runs it from a script, whose call stack is bounded. */
    static final int MAX_REPLAYED_ARGS = 4_000;

    /** Adds {@code step} (null: a write that cannot be run again, as {@code why} says) to {@code key}'s replay. */
    private void replayed(KeyId key, Step step, String why) {
        Replay replay = replays.computeIfAbsent(key, k -> new Replay());
        if (replay.steps == null) {
            return;
        }
        long bytes = STEP_BYTES;
        if (step != null) {
            for (RawCommand command : step.commands()) {
                bytes += command.name().length();
                for (byte[] arg : command.args()) {
                    bytes += arg.length + 8;
                }
            }
        }
        if (step == null || replayBytes + bytes > maxReplayBytes) {
            replayBytes -= replay.bytes;
            replay.steps = null;
            replay.bytes = 0;
            replay.why = step == null ? why : "more than " + maxReplayBytes + " bytes of writes to run again";
            return;
        }
        replay.steps.add(step);
        replay.bytes += bytes;
        replayBytes += bytes;
    }

    /** What one step of a replay costs besides its arguments (its applied vector, references). */
    private static final long STEP_BYTES = 128;

    /**
     * One unseen write of a key: from partition {@code slot} (of {@link #slots}) at {@code offset}; {@code vector}, for
     * this instance's own writes, what it had applied of every peer when it made it (null for a third instance's);
     * {@code skippable}: a write an apply agent leaves out when it loses a conflict.
     */
    record Step(int slot, long offset, AppliedVector vector, List<RawCommand> commands, boolean skippable) {
    }

    /** One key's unseen writes as read; {@code steps} null when they cannot all be run again. */
    private static final class Replay {
        List<Step> steps = new ArrayList<>();
        long bytes;
        /** Why {@code steps} is null. */
        String why;
    }

    private long[] newEnds() {
        long[] ends = new long[slots.size()];
        Arrays.fill(ends, -1);
        return ends;
    }

    /** The key as read, or null for one of Ferry's own (never a user's write). */
    private static KeyId keyId(int db, ByteBuffer key) {
        byte[] bytes = new byte[key.remaining()];
        key.duplicate().get(bytes);
        return ReplicationPolicy.isReservedKey(bytes) ? null : new KeyId(db, bytes);
    }

    private void bounded() {
        if (keys.size() + snapshotted.size() > maxKeys) {
            overflowed = true;
            keys.clear();
            snapshotted.clear();
            replays.clear();
            replayBytes = 0;
        }
    }

    /** What the origin had not applied of {@code key}. */
    enum Unseen {
        /** Nothing: the origin had seen every write to it. */
        NOTHING,
        /** A write (command) the origin had not applied; also every key once the reader overflowed. */
        WRITE,
        /**
         * Only another snapshot's copy of it: that instance resynced too and the origin had not applied its snapshot,
         * which holds that instance's unpublished gap writes to some keys, but which ones is unknown.
         */
        SNAPSHOT
    }

    Unseen unseen(KeyId key) {
        if (overflowed || keys.containsKey(key)) {
            return Unseen.WRITE;
        }
        return snapshotted.contains(key) ? Unseen.SNAPSHOT : Unseen.NOTHING;
    }

    /**
     * Where the unseen writes to {@code key} end: per partition read, the offset of the last one (the origin's
     * value of the key holds them all once it has applied these); empty when none was read (or after an overflow).
     */
    AppliedVector unseenEnds(KeyId key) {
        long[] ends = keys.get(key);
        if (ends == null) {
            return AppliedVector.EMPTY;
        }
        Map<String, Long> offsets = new HashMap<>();
        for (int slot = 0; slot < ends.length; slot++) {
            if (ends[slot] >= 0) {
                offsets.put(AppliedVector.entry(slotInstances.get(slot), slotPartitions.get(slot)), ends[slot]);
            }
        }
        return AppliedVector.of(offsets);
    }

    /** What this instance has applied of peer partitions, and which of their writes it left out (conflicts lost here). */
    interface AppliedHere {
        /** The committed checkpoint of {@code entry} ({@code <instance>:<partition>}) here; -1 when not known here. */
        long checkpoint(String entry);

        /** Whether the write at {@code offset} of {@code entry} took effect here (false: it lost a conflict); null if unknown. */
        Boolean applied(String entry, long offset);
    }

    /**
     * The writes, in order, that make the origin's copy of {@code key} hold what this instance's copy holds besides
     * what the origin changed in its gap: every unseen write to it that took effect here, run again in the order it
     * took effect here, when each can be run again on its own. They are this instance's own unseen writes, and the
     * third instances' that this instance has applied (up to its checkpoint of their partition, without those that
     * lost a conflict here; those after it are applied later, on top, as on the origin), placed among the own writes
     * by the applied vector each own write carries. Null when that is not known: a write that cannot be run again, a
     * snapshot's copy of the key, a third instance's write that may have lost a conflict here (judged before this
     * agent started), a partition whose checkpoint is not known here (or, with
     * {@code ownOnly}, for a Redis Cluster target, whose slots apply a partition each at its own pace, any third
     * instance's write), own writes from two partitions, or the bound on their bytes
     * passed. Empty for a key nothing unseen wrote.
     */
    List<RawCommand> replay(KeyId key, AppliedHere applied, boolean ownOnly) {
        refusal = null;
        if (overflowed || snapshotted.contains(key)) {
            refusal = overflowed ? "too many writes to read" : "a snapshot's copy of it";
            return null;
        }
        Replay replay = replays.get(key);
        if (replay == null) {
            return keys.containsKey(key) ? null : List.of();
        }
        if (replay.steps == null) {
            refusal = replay.why;
            return null;
        }
        List<Step> own = new ArrayList<>();
        Map<String, List<Step>> third = new java.util.TreeMap<>();
        for (Step step : replay.steps) {
            String entry = AppliedVector.entry(slotInstances.get(step.slot()), slotPartitions.get(step.slot()));
            if (step.vector() != null) {
                if (!own.isEmpty() && own.get(0).slot() != step.slot()) {
                    refusal = "own writes from two partitions";
                    return null;
                }
                own.add(step);
                continue;
            }
            long checkpoint = applied.checkpoint(entry);
            if (checkpoint < 0 || ownOnly) {
                refusal = ownOnly ? "a third instance's write on a Redis Cluster target" : "a write of " + entry + ", not applied by this agent";
                return null;
            }
            if (step.offset() <= checkpoint) {
                Boolean tookEffect = step.skippable() ? applied.applied(entry, step.offset()) : Boolean.TRUE;
                if (tookEffect == null) {
                    refusal = "a write at " + entry + "@" + step.offset() + " that may have lost a conflict here";
                    return null;
                }
                if (tookEffect) {
                    third.computeIfAbsent(entry, e -> new ArrayList<>()).add(step); // one that lost was left out here
                }
            }
        }
        return interleaved(own, third);
    }

    /**
     * The commands of {@code own} writes (in their order) and of {@code third} instances' applied writes (by partition
     * entry, each in offset order) in the order they took effect here: a third instance's write before the first own
     * write whose applied vector covers it, the rest after the last own write (partitions in entry order).
     */
    static List<RawCommand> interleaved(List<Step> own, Map<String, List<Step>> third) {
        List<RawCommand> commands = new ArrayList<>();
        Map<String, Integer> next = new HashMap<>();
        for (Step write : own) {
            for (Map.Entry<String, List<Step>> partition : third.entrySet()) {
                long appliedThen = write.vector().asMap().getOrDefault(partition.getKey(), -1L);
                List<Step> steps = partition.getValue();
                int i = next.getOrDefault(partition.getKey(), 0);
                for (; i < steps.size() && steps.get(i).offset() <= appliedThen; i++) {
                    commands.addAll(steps.get(i).commands());
                }
                next.put(partition.getKey(), i);
            }
            commands.addAll(write.commands());
        }
        for (Map.Entry<String, List<Step>> partition : third.entrySet()) {
            List<Step> steps = partition.getValue();
            for (int i = next.getOrDefault(partition.getKey(), 0); i < steps.size(); i++) {
                commands.addAll(steps.get(i).commands());
            }
        }
        return commands;
    }

    /** Why the last {@link #replay} answered null (for the log). */
    String refusal() {
        return refusal;
    }

    boolean overflowed() {
        return overflowed;
    }

    /**
     * Whether this instance's own capture had published, as read so far, every master's stream up to {@code points}
     * (a Redis Cluster's capture publishes each shard in a partition of its own, under that master's replication id).
     */
    boolean ownPublished(List<ReplicationPoint> points) {
        return points.stream().allMatch(point -> point.reachedBy(replid -> ownPositions.getOrDefault(replid, -1L)));
    }

    int size() {
        return keys.size() + snapshotted.size();
    }

    @Override
    public void close() {
        for (KafkaConsumer<byte[], byte[]> consumer : consumers.values()) {
            try {
                consumer.close(Duration.ofSeconds(5));
            } catch (RuntimeException ignored) {
                // closing only
            }
        }
    }
}
