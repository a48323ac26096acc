package io.ferry.cli.lifecycle;

import io.ferry.cli.ExitCode;
import io.ferry.cli.MeshOptions;
import io.ferry.cli.OperatorException;
import io.ferry.cli.connect.KafkaConnector;
import io.ferry.cli.connect.RedisConnector;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.KafkaEndpoint;
import io.ferry.topology.MeshConfig;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ferry leave}: removes what an instance that left the mesh leaves behind. The mesh file no
 * longer lists it, and every remaining apply agent runs with that file (so none consumes its topic any
 * more: checked through their consumer groups). Then its capture is fenced, its checkpoint keys are
 * deleted from every remaining Redis, the remaining groups forget its partitions, its own apply group is
 * deleted and, with {@code --delete-topics}, its topics.
 */
@Command(name = "leave", mixinStandardHelpOptions = true,
        header = "Remove an instance from a mesh: its checkpoints on every remaining instance, its groups and topics.",
        description = {"First remove INSTANCE from the mesh file and restart (or helm upgrade) every remaining apply agent with"
                + " it; stop INSTANCE's agents. Then this command checks that no remaining apply agent consumes INSTANCE's topic,"
                + " fences INSTANCE's capture, deletes __ferry:ckpt:INSTANCE:* from every remaining Redis, removes INSTANCE's"
                + " partitions from the remaining apply groups and deletes INSTANCE's apply group.",
                "With --delete-topics it also deletes INSTANCE's topics (changes, offsets, dead letters, conflicts); without, it"
                + " lists them. Safe to run again."})
public final class LeaveCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    MeshOptions mesh;

    @Option(names = {"-i", "--instance"}, required = true, paramLabel = "INSTANCE", description = "The instance that left.")
    String id;

    @Option(names = "--delete-topics", description = "Delete INSTANCE's topics too.")
    boolean deleteTopics;

    @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "30",
            description = "How long to wait for the remaining apply agents to stop consuming INSTANCE's topic (default ${DEFAULT-VALUE}).")
    int waitSeconds;

    @Override
    public Integer call() throws Exception {
        MeshConfig config = mesh.load();
        try {
            ReplicationPolicy.requireId(id);
        } catch (IllegalArgumentException e) {
            throw new OperatorException(ExitCode.BAD_CONFIG, e.getMessage());
        }
        if (config.find(id).isPresent()) {
            throw new OperatorException(ExitCode.BAD_CONFIG, "instance '" + id + "' is still in the mesh file: remove it, restart"
                    + " (or helm upgrade) every remaining apply agent with the new file so none consumes its topic, stop " + id
                    + "'s agents, then run leave again");
        }
        if (config.instances().isEmpty()) {
            throw new OperatorException(ExitCode.BAD_CONFIG, "the mesh file lists no instance: nothing to clean up from");
        }
        PrintWriter out = spec.commandLine().getOut();
        Map<String, KafkaEndpoint> clusters = new LinkedHashMap<>();
        config.instances().values().forEach(i -> clusters.putIfAbsent(i.kafka().bootstrap(), i.kafka()));
        String changes = ReplicationPolicy.changesTopic(id);
        for (InstanceConfig remaining : config.instances().values()) {
            try (KafkaConnector kafka = new KafkaConnector(remaining.kafka())) {
                refuseStillConsuming(kafka, remaining, changes);
            }
        }
        for (KafkaEndpoint cluster : clusters.values()) {
            try (KafkaConnector kafka = new KafkaConnector(cluster)) {
                if (kafka.partitions(ReplicationPolicy.offsetsTopic(id)).isPresent()) {
                    // every partition of its changes topic: a cluster instance's capture writes one per shard
                    List<Integer> partitions = kafka.partitions(changes).map(tps -> tps.stream().map(TopicPartition::partition).toList())
                            .filter(p -> !p.isEmpty()).orElse(List.of(0));
                    new CaptureFence(cluster.clientProperties(), id, partitions).close();
                    out.println("fenced " + id + "'s capture on Kafka " + cluster.bootstrap()
                            + (partitions.size() > 1 ? " (partitions " + partitions + ")" : ""));
                }
            }
        }
        for (InstanceConfig remaining : config.instances().values()) {
            try (RedisConnector redis = new RedisConnector(remaining)) {
                long deleted = 0;
                for (byte[] pattern : ReplicationPolicy.checkpointPatterns(id)) {
                    deleted += redis.deleteMatching(pattern);
                }
                // the key sets of a resync snapshot of ID that was being reconciled when ID's agents stopped
                for (byte[] pattern : ReplicationPolicy.resyncKeysPatterns(id)) {
                    redis.deleteMatching(pattern);
                }
                out.println(remaining.id() + ": deleted " + deleted + " checkpoint key(s) of " + id);
            }
            try (KafkaConnector kafka = new KafkaConnector(remaining.kafka())) {
                forgetPartitions(kafka, ReplicationPolicy.applyGroup(remaining.id()), changes, out);
            }
        }
        for (KafkaEndpoint cluster : clusters.values()) {
            try (KafkaConnector kafka = new KafkaConnector(cluster)) {
                deleteGroup(kafka, ReplicationPolicy.applyGroup(id), out);
                topics(kafka, out);
            }
        }
        out.println(id + " has left mesh '" + config.mesh() + "'");
        return ExitCode.OK;
    }

    /** Waits (a restarted agent's group rebalances) until no member of {@code remaining}'s apply group holds the topic. */
    private void refuseStillConsuming(KafkaConnector kafka, InstanceConfig remaining, String changes) throws Exception {
        String group = ReplicationPolicy.applyGroup(remaining.id());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitSeconds);
        while (true) {
            ConsumerGroupDescription description = describe(kafka, group);
            MemberDescription holder = description == null ? null : description.members().stream()
                    .filter(m -> m.assignment().topicPartitions().stream().anyMatch(tp -> tp.topic().equals(changes)))
                    .findFirst().orElse(null);
            if (holder == null) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new OperatorException(ExitCode.NOT_READY, remaining.id() + "'s apply agent (" + holder.clientId() + ") still"
                        + " consumes " + changes + ": restart it with the mesh file that no longer lists " + id + ", then run"
                        + " leave again");
            }
            Thread.sleep(500);
        }
    }

    private static ConsumerGroupDescription describe(KafkaConnector kafka, String group) throws Exception {
        try {
            return kafka.admin().describeConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS).get(group);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GroupIdNotFoundException) {
                return null;
            }
            throw kafka.classify(e.getCause());
        }
    }

    private void forgetPartitions(KafkaConnector kafka, String group, String changes, PrintWriter out) throws Exception {
        var partitions = kafka.partitions(changes);
        if (partitions.isEmpty() || describe(kafka, group) == null) {
            return;
        }
        try {
            kafka.admin().deleteConsumerGroupOffsets(group, Set.copyOf(partitions.get())).all().get(30, TimeUnit.SECONDS);
            out.println(group + ": forgot its offsets of " + changes);
        } catch (ExecutionException e) {
            // a group that never committed offsets for the topic has nothing to forget
            if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)) {
                out.println(group + ": its offsets of " + changes + " stay (" + e.getCause().getMessage() + ")");
            }
        }
    }

    private void deleteGroup(KafkaConnector kafka, String group, PrintWriter out) throws Exception {
        ConsumerGroupDescription description = describe(kafka, group);
        if (description == null || description.members().isEmpty() && description.groupState().toString().equals("DEAD")) {
            return;
        }
        if (!description.members().isEmpty()) {
            // a stopped agent with a static member id stays a member until its session times out; one still running
            // only writes into the Redis of the instance that left
            try {
                kafka.admin().removeMembersFromConsumerGroup(group, new RemoveMembersFromConsumerGroupOptions()).all()
                        .get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                // the members left between the description and the removal (a stopped agent's session ran out)
                if (!(e.getCause() instanceof IllegalArgumentException)) {
                    throw e;
                }
            }
        }
        kafka.admin().deleteConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS);
        out.println("deleted consumer group " + group + " on " + kafka.bootstrap());
    }

    private void topics(KafkaConnector kafka, PrintWriter out) throws Exception {
        List<String> present = new ArrayList<>();
        for (String topic : List.of(ReplicationPolicy.changesTopic(id), ReplicationPolicy.offsetsTopic(id),
                ReplicationPolicy.deadLetterTopic(id), ReplicationPolicy.conflictsTopic(id))) {
            if (kafka.partitions(topic).isPresent()) {
                present.add(topic);
            }
        }
        if (present.isEmpty()) {
            return;
        }
        if (deleteTopics) {
            kafka.admin().deleteTopics(present).all().get(60, TimeUnit.SECONDS);
            out.println("deleted topics " + present + " on " + kafka.bootstrap());
        } else {
            out.println("topics kept on " + kafka.bootstrap() + ": " + present + " (run again with --delete-topics to delete them)");
        }
    }
}
