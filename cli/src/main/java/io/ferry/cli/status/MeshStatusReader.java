package io.ferry.cli.status;

import io.ferry.cli.ExitCode;
import io.ferry.cli.OperatorException;
import io.ferry.cli.connect.KafkaConnector;
import io.ferry.cli.connect.RedisConnector;
import io.ferry.cli.inspect.RecordDecoder;
import io.ferry.cli.inspect.TopicReader;
import io.ferry.schemas.CapturePosition;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.MeshConfig;
import io.ferry.topology.conflicts.view.ConflictEntryMerger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads the state of each instance from the servers themselves: the capture's committed position
 * (offsets topic) against its Redis's master_repl_offset, each peer's apply checkpoint (in this
 * instance's Redis) against the end of the peer's changes topic, and the dead-letter and conflicts
 * topics (conflicts also merged across the mesh, see {@link ConflictDigest}). Reads only; joins no consumer group.
 */
final class MeshStatusReader implements AutoCloseable {

    /** Counting stops here; beyond it the report says "more than". */
    static final long COUNT_LIMIT = 1_000_000;

    /** A peer partition further behind than this many offsets is reported from its offsets ("about"), not counted. */
    static final long BEHIND_COUNTED = 100_000;


    private final MeshConfig mesh;
    private final StatusReport report;
    private final Map<String, KafkaConnector> kafkaByBootstrap = new HashMap<>();
    private final Map<KafkaConnector, Boolean> reachable = new HashMap<>();
    private final Map<KafkaConnector, TopicReader> readers = new HashMap<>();
    private final RecordDecoder decoder = new RecordDecoder();
    private final int recentConflicts;
    private final long conflictsWindow;
    private final ConflictDigest meshConflicts = new ConflictDigest();
    private boolean meshConflictsWindowed;

    /**
     * @param recentConflicts how many of each instance's latest conflicts to print (0: counts only)
     * @param conflictsWindow conflicts are read from the latest this many offsets of each conflicts partition
     */
    MeshStatusReader(MeshConfig mesh, StatusReport report, int recentConflicts, long conflictsWindow) {
        this.mesh = mesh;
        this.report = report;
        this.recentConflicts = recentConflicts;
        this.conflictsWindow = conflictsWindow;
    }

    void report(InstanceConfig instance) {
        report.line("");
        report.line("instance " + instance.id() + "   redis " + instance.redis() + "   kafka " + instance.kafka().bootstrap());
        KafkaConnector kafka = kafka(instance);
        Boolean known = reachable.get(kafka);
        boolean kafkaUp = known != null ? known : check("  ", kafka::checkReachable);
        reachable.put(kafka, kafkaUp);
        if (known != null && !known) {
            report.problem("  ", ExitCode.KAFKA_UNREACHABLE, "Kafka at " + kafka.bootstrap() + " is unreachable (see above)");
        }
        try (RedisConnector redis = new RedisConnector(instance)) {
            Optional<Map<String, String>> replication = attempt("  ", redis::infoReplication);
            replication.ifPresent(info -> report.line("  redis    " + info.getOrDefault("role", "?") + ", master_repl_offset "
                    + info.getOrDefault("master_repl_offset", "?") + ", replid " + shortId(info.getOrDefault("master_replid", "?"))));
            if (!kafkaUp) {
                return;
            }
            Optional<CapturePosition> position = capture(instance, kafka, replication);
            replication.ifPresent(info -> lifecycle(instance, redis, info, position));
            for (InstanceConfig peer : mesh.peersOf(instance.id())) {
                apply(instance, peer, redis, replication.isPresent());
            }
            tally(instance, kafka, "dead letters", ReplicationPolicy.deadLetterTopic(instance.id()),
                    record -> record instanceof DeadLetter dead ? dead.getReason() : "UNDECODABLE");
            conflicts(kafka, ReplicationPolicy.conflictsTopic(instance.id()));
        }
    }

    /**
     * The conflicts an instance's apply agent recorded: the count by class (the same line as dead letters),
     * by class and resolution, and the latest few, one line each.
     */
    private void conflicts(KafkaConnector kafka, String topic) {
        Optional<List<TopicPartition>> partitions = attempt("  ", () -> kafka.partitions(topic)).flatMap(p -> p);
        String label = String.format("  %-12s ", "conflicts");
        if (partitions.isEmpty()) {
            report.line(label + "0 (" + topic + " not created yet)");
            return;
        }
        ConflictDigest.Topic digest = new ConflictDigest.Topic(recentConflicts);
        TopicReader.Latest latest = reader(kafka).readLatest(partitions.get(), conflictsWindow, record -> {
            if (decoder.decode(record.value()) instanceof RecordDecoder.Known known && known.record() instanceof Conflict conflict) {
                digest.add(conflict);
                meshConflicts.merge(conflict, record.topic(), record.partition(), record.offset());
            } else if (record.value() != null) {
                digest.undecodable();
            }
        });
        if (latest.offsetsBefore() == 0) {
            report.line(countLine(label, latest.read(), digest.byClass(), topic));
        } else {
            meshConflictsWindowed = true;
            report.line(countLine(label + "about " + (latest.read() + latest.offsetsBefore()) + ", of which the latest ",
                    latest.read(), digest.byClass(), topic));
        }
        String byResolution = digest.resolutionLine();
        if (byResolution != null) {
            report.line("    by class and resolution: " + byResolution);
        }
        List<String> recent = digest.recentLines();
        if (!recent.isEmpty()) {
            report.line("    last " + recent.size() + " (oldest first):");
            recent.forEach(line -> report.line("      " + line));
        }
    }

    /**
     * Every conflicts topic read so far, merged as {@code ferry monitor} merges them: a concurrent pair
     * recorded by both sides counts once. Meaningful once every instance has been reported.
     */
    void meshConflicts() {
        Map<String, Long> states = meshConflicts.states();
        report.line("");
        report.line("conflicts across the mesh (" + (meshConflictsWindowed ? "the latest " + conflictsWindow
                + " of each topic, " : "") + "both sides' records of a pair merged): " + states.get(ConflictEntryMerger.OPEN)
                + " open, " + states.get(ConflictEntryMerger.RESOLVED) + " resolved, " + states.get(ConflictEntryMerger.REPORTED)
                + " reported");
        List<String> open = meshConflicts.openLines(recentConflicts);
        if (!open.isEmpty()) {
            report.line("  open (latest " + open.size() + "; ferry monitor serves them all at /conflicts?state=open):");
            open.forEach(line -> report.line("    " + line));
        }
    }

    /**
     * Where the instance is in its life: joining (a {@code ferry join} in progress left its marker), its source
     * on another replication history than its capture's committed position (wiped: its capture waits for an
     * operator, or resynchronises), or live.
     */
    private void lifecycle(InstanceConfig instance, RedisConnector redis, Map<String, String> info, Optional<CapturePosition> position) {
        Optional<byte[]> joining = attempt("  ", () -> {
            try {
                return Optional.ofNullable(redis.get(ReplicationPolicy.JOIN_KEY.getBytes(StandardCharsets.UTF_8)));
            } catch (OperatorException e) {
                throw e;
            } catch (RuntimeException e) {
                throw redis.classify(e);
            }
        }).flatMap(v -> v);
        String state;
        if (joining.isPresent()) {
            state = "joining " + new String(joining.get(), StandardCharsets.UTF_8);
        } else if (position.isPresent() && !instance.redis().cluster()
                && !position.get().getPosition().getReplid().equals(info.get("master_replid"))
                && !position.get().getPosition().getReplid().equals(info.get("master_replid2"))) {
            state = "source on a new replication history: wiped and waiting if its capture's /readyz says 'source wiped'"
                    + " (re-seed it: ferry join --config FILE --instance " + instance.id() + " --from <live peer> --replace-data)";
        } else if (position.isPresent()) {
            state = "live";
        } else {
            state = "not started (no capture position)";
        }
        report.line("  state    " + state);
    }

    /**
     * Instances whose changes topic is still on one of the mesh's Kafka clusters but which the mesh file no
     * longer lists: they left (or the file lost them).
     */
    void leftInstances() {
        for (KafkaConnector kafka : kafkaByBootstrap.values()) {
            if (!Boolean.TRUE.equals(reachable.get(kafka))) {
                continue;
            }
            attempt("", () -> kafka.call(() -> kafka.admin().listTopics().names().get(10, java.util.concurrent.TimeUnit.SECONDS)))
                    .ifPresent(names -> names.stream().sorted()
                            .map(ReplicationPolicy::changesTopicOrigin).flatMap(Optional::stream)
                            .filter(id -> mesh.find(id).isEmpty())
                            .forEach(id -> report.line("instance " + id + "   state left (not in the mesh file; its topics remain on "
                                    + kafka.bootstrap() + ": ferry leave --config FILE --instance " + id + " --delete-topics)")));
        }
    }

    private Optional<CapturePosition> capture(InstanceConfig instance, KafkaConnector kafka, Optional<Map<String, String>> replication) {
        String offsetsTopic = ReplicationPolicy.offsetsTopic(instance.id());
        Optional<List<TopicPartition>> partitions = attempt("  ", () -> kafka.partitions(offsetsTopic)).flatMap(p -> p);
        if (partitions.isEmpty()) {
            report.problem("  ", ExitCode.MISSING_TOPIC, "capture: " + offsetsTopic + " does not exist: the capture for '"
                    + instance.id() + "' has not run yet (ferry capture --config FILE --instance " + instance.id() + ")");
            return Optional.empty();
        }
        Map<Integer, CapturePosition> latest = new TreeMap<>();
        readAll(kafka, partitions.get(), record -> {
            if (record instanceof CapturePosition position) {
                latest.put(position.getShard(), position);
            }
        });
        if (latest.isEmpty()) {
            report.line("  capture  no position committed yet (the first snapshot may still be running)");
        }
        java.util.Set<Integer> retired = instance.redis().cluster() ? retiredPartitions(instance, kafka) : java.util.Set.of();
        for (CapturePosition position : latest.values()) {
            if (retired.contains(position.getShard())) {
                report.line("  capture  shard " + position.getShard() + " retired at " + shortId(position.getPosition().getReplid())
                        + ":" + position.getPosition().getOffset() + " (its shard left the cluster or is carried by another"
                        + " partition; nothing more is published to it)");
                continue;
            }
            StringBuilder line = new StringBuilder("  capture  shard " + position.getShard() + " at "
                    + shortId(position.getPosition().getReplid()) + ":" + position.getPosition().getOffset()
                    + " db " + position.getPosition().getDb()
                    + ", committed " + age(position.getCommittedAtMillis()) + " ago");
            // a cluster's shards each have their own master: the seed node's INFO says nothing of the others
            replication.filter(info -> !instance.redis().cluster()).ifPresent(info -> {
                String replid = info.get("master_replid");
                long sourceOffset = parseLong(info.get("master_repl_offset"), -1);
                if (!position.getPosition().getReplid().equals(replid) && !position.getPosition().getReplid().equals(info.get("master_replid2"))) {
                    line.append("; Redis now has replid ").append(shortId(replid))
                            .append(" (restarted or failed over: the capture resynchronises)");
                } else if (sourceOffset >= 0) {
                    line.append("; lag ").append(Math.max(0, sourceOffset - position.getPosition().getOffset())).append(" bytes");
                }
            });
            report.line(line.toString());
        }
        return Optional.ofNullable(latest.get(0));
    }

    /** The partitions of a cluster instance's changes topic whose last record says they are retired. */
    private java.util.Set<Integer> retiredPartitions(InstanceConfig instance, KafkaConnector kafka) {
        java.util.Set<Integer> retired = new java.util.TreeSet<>();
        attempt("  ", () -> kafka.partitions(ReplicationPolicy.changesTopic(instance.id()))).flatMap(p -> p).ifPresent(partitions ->
                reader(kafka).read(partitions, new TopicReader.Range(false, 1, 0, false), TopicReader.ALL, record -> {
                    if (record.headers().lastHeader(ReplicationPolicy.RETIRED_HEADER) != null) {
                        retired.add(record.partition());
                    }
                }));
        return retired;
    }

    private void apply(InstanceConfig instance, InstanceConfig peer, RedisConnector redis, boolean redisUp) {
        KafkaConnector peerKafka = kafka(peer);
        String topic = ReplicationPolicy.changesTopic(peer.id());
        Optional<List<TopicPartition>> partitions = attempt("  ", () -> peerKafka.partitions(topic)).flatMap(p -> p);
        if (partitions.isEmpty()) {
            report.line("  apply    from " + peer.id() + ": " + topic + " does not exist yet (the capture for '" + peer.id() + "' has not run)");
            return;
        }
        for (TopicPartition tp : partitions.get()) {
            if (!redisUp) {
                report.line("  apply    from " + peer.id() + " " + tp + ": checkpoint unknown (Redis unreachable)");
                continue;
            }
            Optional<Long> checkpoint = attempt("  ", () -> checkpoint(redis, peer.id(), tp.partition())).flatMap(c -> c);
            long from = checkpoint.map(c -> c + 1).orElse(0L);
            TopicReader peerReader = reader(peerKafka);
            long offsetsBehind = peerReader.offsetsFrom(tp, from);
            String behind;
            if (offsetsBehind > BEHIND_COUNTED) {
                behind = "about " + offsetsBehind + " record(s) behind";
            } else {
                long[] counted = {0};
                peerReader.readToEnd(Map.of(tp, from), COUNT_LIMIT, record -> counted[0]++);
                behind = counted[0] + " record(s) behind" + (counted[0] == 0 ? " (caught up)" : "");
            }
            report.line("  apply    from " + peer.id() + " " + tp + ": checkpoint "
                    + checkpoint.map(String::valueOf).orElse("none (nothing applied yet)") + ", " + behind);
        }
    }

    /** The apply checkpoint: the last Kafka offset of {@code origin}'s partition applied to this Redis, in db 0. */
    private static Optional<Long> checkpoint(RedisConnector redis, String origin, int partition) {
        try {
            byte[] value = redis.get(ReplicationPolicy.checkpointKey(origin, partition));
            return value == null ? Optional.empty() : Optional.of(Long.parseLong(new String(value, StandardCharsets.US_ASCII).trim()));
        } catch (OperatorException e) {
            throw e;
        } catch (NumberFormatException e) {
            throw new OperatorException(ExitCode.FAILED, "checkpoint key of " + origin + ":" + partition + " does not hold an offset");
        } catch (RuntimeException e) {
            throw redis.classify(e);
        }
    }

    private void tally(InstanceConfig instance, KafkaConnector kafka, String what, String topic,
                       Function<Object, String> classOf) {
        Optional<List<TopicPartition>> partitions = attempt("  ", () -> kafka.partitions(topic)).flatMap(p -> p);
        String label = String.format("  %-12s ", what);
        if (partitions.isEmpty()) {
            report.line(label + "0 (" + topic + " not created yet)");
            return;
        }
        Map<String, Long> byClass = new TreeMap<>();
        long total = readAll(kafka, partitions.get(), record -> byClass.merge(classOf.apply(record), 1L, Long::sum));
        report.line(countLine(label, total, byClass, topic));
    }

    /** {@code <label>3  (A 2, B 1)  ferry inspect -c FILE <topic> --from-beginning}; just the count when there is none. */
    private static String countLine(String label, long total, Map<String, Long> byClass, String topic) {
        StringBuilder line = new StringBuilder(label).append(total >= COUNT_LIMIT ? "more than " + total : String.valueOf(total));
        if (!byClass.isEmpty()) {
            line.append("  (");
            byClass.forEach((name, count) -> line.append(line.charAt(line.length() - 1) == '(' ? "" : ", ").append(name).append(' ').append(count));
            line.append(")  ferry inspect -c FILE ").append(topic).append(" --from-beginning");
        }
        return line.toString();
    }

    private long readAll(KafkaConnector kafka, List<TopicPartition> partitions, java.util.function.Consumer<Object> sink) {
        Map<TopicPartition, Long> start = new HashMap<>();
        partitions.forEach(tp -> start.put(tp, 0L));
        return reader(kafka).readToEnd(start, COUNT_LIMIT, record -> {
            RecordDecoder.Decoded decoded = decoder.decode(record.value());
            sink.accept(decoded instanceof RecordDecoder.Known known ? known.record() : decoded);
        });
    }

    /** One group-less consumer per Kafka cluster, reassigned for each read. */
    private TopicReader reader(KafkaConnector kafka) {
        return readers.computeIfAbsent(kafka, TopicReader::new);
    }

    private KafkaConnector kafka(InstanceConfig instance) {
        return kafkaByBootstrap.computeIfAbsent(instance.kafka().bootstrap() + instance.kafka().properties(),
                key -> new KafkaConnector(instance.kafka()));
    }

    private boolean check(String indent, Runnable action) {
        return attempt(indent, () -> {
            action.run();
            return Boolean.TRUE;
        }).isPresent();
    }

    private <T> Optional<T> attempt(String indent, java.util.function.Supplier<T> action) {
        try {
            return Optional.ofNullable(action.get());
        } catch (OperatorException e) {
            report.problem(indent, e.exitCode(), e.getMessage());
            return Optional.empty();
        }
    }

    private static String shortId(String replid) {
        return replid == null ? "?" : replid.length() > 8 ? replid.substring(0, 8) : replid;
    }

    private static String age(Instant at) {
        Duration age = Duration.between(at, Instant.now());
        if (age.isNegative()) {
            return "0s";
        }
        long seconds = age.toSeconds();
        return seconds < 120 ? String.format("%.1fs", age.toMillis() / 1000.0)
                : seconds < 7200 ? (seconds / 60) + "m" : (seconds / 3600) + "h";
    }

    private static long parseLong(String text, long fallback) {
        try {
            return text == null ? fallback : Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    @Override
    public void close() {
        readers.values().forEach(TopicReader::close);
        kafkaByBootstrap.values().forEach(KafkaConnector::close);
    }
}
