package io.ferry.capture.publish;

import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.KafkaEndpoint;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates an instance's topics when they are missing (it looks first, so a principal without Create
 * runs on topics an admin created): the changes topic with one partition per source
 * shard (one for a standalone Redis), a record size limit the chunker knows and the mesh file's
 * retention ({@code kafka.retentionHours}), and the compacted offsets topic. An existing changes topic
 * whose limit is too small is raised; its retention is checked (see {@link #retentionAction}).
 */
public final class TopicProvisioner {

    private static final Logger log = LoggerFactory.getLogger(TopicProvisioner.class);

    private TopicProvisioner() {
    }

    /** Largest record the capture may write given {@code maxRecordBytes} (snapshot chunks stay below). */
    public static int recordLimit(int maxRecordBytes) {
        return io.ferry.topology.CaptureSettings.recordLimit(maxRecordBytes);
    }

    /** What to do about an existing changes topic's {@code retention.ms}. */
    public enum RetentionAction {
        /** It is what the mesh file asks for, or longer and the operator's or the broker's: leave it. */
        KEEP,
        /** Ferry's to change (no topic override and shorter, or Ferry's own default): set it. */
        SET,
        /** The operator set it shorter than the mesh file asks: leave it and warn. */
        WARN_SHORTER
    }

    /**
     * Decides about an existing topic's retention. {@code configuredMs} and {@code currentMs} are
     * {@code retention.ms} values (-1: no limit); {@code topicOverride} is whether the topic sets it
     * itself (otherwise it follows the broker's default). Ferry changes only what it owns: a topic with
     * no override whose broker default is shorter (never shortening the broker's longer one), or one
     * holding Ferry's own default (what Ferry set when the mesh file said nothing). An operator's own
     * value is never changed; a shorter one is warned about.
     */
    public static RetentionAction retentionAction(long configuredMs, long currentMs, boolean topicOverride) {
        if (currentMs == configuredMs) {
            return RetentionAction.KEEP;
        }
        boolean shorter = unlimitedAsMax(currentMs) < unlimitedAsMax(configuredMs);
        if (!topicOverride) {
            return shorter ? RetentionAction.SET : RetentionAction.KEEP;
        }
        if (currentMs == KafkaEndpoint.DEFAULT_RETENTION_HOURS * 3_600_000L) {
            return RetentionAction.SET;
        }
        return shorter ? RetentionAction.WARN_SHORTER : RetentionAction.KEEP;
    }

    private static long unlimitedAsMax(long ms) {
        return ms < 0 ? Long.MAX_VALUE : ms;
    }

    static String hours(long ms) {
        return ms < 0 ? "no time limit" : ms % 3_600_000L == 0 ? ms / 3_600_000L + " h" : ms / 1000 + " s";
    }

    /**
     * @param retentionMs the changes topic's {@code retention.ms} from the mesh file (-1: no limit)
     */
    public static void ensure(Admin admin, String instance, int shards, int maxRecordBytes, long retentionMs)
            throws ExecutionException, InterruptedException, TimeoutException {
        String changes = ReplicationPolicy.changesTopic(instance);
        String offsets = ReplicationPolicy.offsetsTopic(instance);
        String limit = Integer.toString(recordLimit(maxRecordBytes));
        // look first, create only what is missing: a principal without Create runs on topics an admin made
        List<NewTopic> wanted = List.of(
                new NewTopic(changes, Optional.of(shards), Optional.empty())
                        .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, limit,
                                TopicConfig.RETENTION_MS_CONFIG, Long.toString(retentionMs))),
                new NewTopic(offsets, Optional.of(1), Optional.empty())
                        .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)));
        Set<String> existing = existing(admin, List.of(changes, offsets));
        List<NewTopic> missing = wanted.stream().filter(t -> !existing.contains(t.name())).toList();
        if (!missing.isEmpty()) {
            create(admin, missing);
        }
        TopicDescription description = untilKnown(() -> admin.describeTopics(List.of(changes)).allTopicNames()
                .get(30, TimeUnit.SECONDS).get(changes));
        if (description.partitions().size() < shards) {
            // a Redis Cluster source gained a shard: it gets the next partition; the existing ones keep their streams
            log.info("adding partitions to {}: {} -> {} (one per source shard)", changes, description.partitions().size(), shards);
            try {
                admin.createPartitions(Map.of(changes, NewPartitions.increaseTo(shards))).all().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof InvalidPartitionsException)) { // another capture added them meanwhile
                    throw e;
                }
            }
        }
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, changes);
        Config config = untilKnown(() -> admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource));
        ConfigEntry entry = config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
        if (entry == null || Long.parseLong(entry.value()) < recordLimit(maxRecordBytes)) {
            log.info("raising max.message.bytes of {} from {} to {}", changes, entry == null ? "?" : entry.value(), limit);
            try {
                admin.incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(
                        new ConfigEntry(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, limit), AlterConfigOp.OpType.SET))))
                        .all().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof AuthorizationException)) {
                    throw e;
                }
                // records up to the limit would be refused later, one by one: stop now and say what to do
                throw new AuthorizationException("not authorized to raise max.message.bytes of " + changes + " from "
                        + (entry == null ? "?" : entry.value()) + " to " + limit + " (the largest record the capture writes). Set it with"
                        + " kafka-configs.sh --alter --entity-type topics --entity-name " + changes + " --add-config max.message.bytes="
                        + limit + ", or grant AlterConfigs on the topic");
            }
        }
        checkRetention(admin, resource, config, retentionMs);
    }

    /** An admin call that can run before a just-created topic has reached every broker's metadata. */
    private interface AdminCall<T> {
        T call() throws ExecutionException, InterruptedException, TimeoutException;
    }

    /** Runs {@code call}, retrying for up to 15 s while the broker does not know the new topic yet. */
    private static <T> T untilKnown(AdminCall<T> call) throws ExecutionException, InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (true) {
            try {
                return call.call();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)
                        || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    private static void checkRetention(Admin admin, ConfigResource resource, Config config, long retentionMs)
            throws InterruptedException, TimeoutException, ExecutionException {
        String changes = resource.name();
        ConfigEntry entry = config.get(TopicConfig.RETENTION_MS_CONFIG);
        long current = entry == null || entry.value() == null ? Long.MIN_VALUE : Long.parseLong(entry.value());
        boolean override = entry != null && entry.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG;
        String rule = "an instance that is down longer than its peers' topics keep changes cannot catch up and must re-join";
        switch (current == Long.MIN_VALUE ? RetentionAction.SET : retentionAction(retentionMs, current, override)) {
            case KEEP -> log.debug("{} keeps changes for {} (kafka.retentionHours asks for {})", changes, hours(current), hours(retentionMs));
            case WARN_SHORTER -> log.warn("{} keeps changes for {} only (retention.ms {} set on the topic), shorter than"
                    + " kafka.retentionHours ({}); Ferry leaves an operator's setting alone: {}. Raise it with"
                    + " kafka-configs.sh --alter --entity-type topics --entity-name {} --add-config retention.ms={}"
                    + " or lower kafka.retentionHours to match", changes, hours(current), current, hours(retentionMs), rule,
                    changes, retentionMs);
            case SET -> {
                try {
                    admin.incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(
                            new ConfigEntry(TopicConfig.RETENTION_MS_CONFIG, Long.toString(retentionMs)), AlterConfigOp.OpType.SET))))
                            .all().get(30, TimeUnit.SECONDS);
                    log.info("retention of {} set to {} (kafka.retentionHours; it was {}{})", changes, hours(retentionMs),
                            hours(current), override ? ", Ferry's default" : ", the broker's default");
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof AuthorizationException || e.getCause() instanceof PolicyViolationException)) {
                        throw e;
                    }
                    log.warn("{} keeps changes for {}, kafka.retentionHours asks for {}, and Kafka refused to change it ({});"
                            + " {}. Set it with kafka-configs.sh --alter --entity-type topics --entity-name {} --add-config retention.ms={}",
                            changes, hours(current), hours(retentionMs), e.getCause().getMessage(), rule, changes, retentionMs);
                }
            }
        }
        ConfigEntry bytes = config.get(TopicConfig.RETENTION_BYTES_CONFIG);
        if (bytes != null && bytes.value() != null && Long.parseLong(bytes.value()) > 0) {
            log.warn("{} has retention.bytes {}: Kafka may delete changes before {} have passed; {}", changes, bytes.value(),
                    hours(retentionMs), rule);
        }
    }

    /** Which of {@code names} exist (a topic the principal may not describe is an authorization error). */
    private static Set<String> existing(Admin admin, List<String> names)
            throws ExecutionException, InterruptedException, TimeoutException {
        Set<String> found = new HashSet<>();
        for (var result : admin.describeTopics(names).topicNameValues().entrySet()) {
            try {
                result.getValue().get(30, TimeUnit.SECONDS);
                found.add(result.getKey());
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                    throw e;
                }
            }
        }
        return found;
    }

    private static void create(Admin admin, Collection<NewTopic> topics)
            throws ExecutionException, InterruptedException, TimeoutException {
        for (var result : admin.createTopics(topics).values().entrySet()) {
            try {
                result.getValue().get(30, TimeUnit.SECONDS);
                log.info("created topic {}", result.getKey());
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
        }
    }
}
