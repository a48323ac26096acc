package io.ferry.capture.publish;

import io.ferry.schemas.ReplicationPolicy;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates an instance's topics when they are missing: the changes topic with one partition per source
 * shard (one for a standalone Redis) and a record size limit the chunker knows, and the compacted
 * offsets topic. An existing changes topic whose limit is too small is raised.
 */
public final class TopicProvisioner {

    private static final Logger log = LoggerFactory.getLogger(TopicProvisioner.class);

    private TopicProvisioner() {
    }

    /** Largest record the capture may write given {@code maxRecordBytes} (snapshot chunks stay below). */
    public static int recordLimit(int maxRecordBytes) {
        return maxRecordBytes + 64 * 1024;
    }

    public static void ensure(Admin admin, String instance, int shards, int maxRecordBytes)
            throws ExecutionException, InterruptedException, TimeoutException {
        String changes = ReplicationPolicy.changesTopic(instance);
        String offsets = ReplicationPolicy.offsetsTopic(instance);
        String limit = Integer.toString(recordLimit(maxRecordBytes));
        create(admin, List.of(
                new NewTopic(changes, Optional.of(shards), Optional.empty())
                        .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, limit)),
                new NewTopic(offsets, Optional.of(1), Optional.empty())
                        .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT))));
        TopicDescription description = admin.describeTopics(List.of(changes)).allTopicNames().get(30, TimeUnit.SECONDS).get(changes);
        if (description.partitions().size() < shards) {
            throw new IllegalStateException("topic " + changes + " has " + description.partitions().size()
                    + " partitions, the source has " + shards + " shards; add partitions");
        }
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, changes);
        Config config = admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource);
        ConfigEntry entry = config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
        if (entry == null || Long.parseLong(entry.value()) < recordLimit(maxRecordBytes)) {
            log.info("raising max.message.bytes of {} from {} to {}", changes, entry == null ? "?" : entry.value(), limit);
            admin.incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(
                    new ConfigEntry(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, limit), AlterConfigOp.OpType.SET))))
                    .all().get(30, TimeUnit.SECONDS);
        }
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
