package io.ferry.apply.findings;

import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.KafkaEndpoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The apply agent's own topics ({@code ferry.<self>.deadletters} and {@code .conflicts}): created when
 * missing, with a record limit that fits the largest error record. A topic that is missing and cannot be
 * created makes the agent not ready (checked again every few seconds until it exists), since the first
 * error record would stop applying.
 */
public final class FindingsTopics {

    private static final Logger LOG = LoggerFactory.getLogger(FindingsTopics.class);
    private static final long RECHECK_MILLIS = 5_000;

    private final KafkaEndpoint kafka;
    private final List<String> topics;
    private final int maxRecordBytes;
    private volatile String problem;
    private long nextCheck;

    public FindingsTopics(KafkaEndpoint kafka, String self, int maxRecordBytes) {
        this.kafka = kafka;
        this.topics = List.of(ReplicationPolicy.deadLetterTopic(self), ReplicationPolicy.conflictsTopic(self));
        this.maxRecordBytes = maxRecordBytes;
    }

    /**
     * Largest error record: a conflict carries up to three commands of change records (the command, the
     * peer's write and the write it met), each at most a changes-topic record, plus text.
     */
    public static int recordLimit(int changesRecordLimit) {
        return 3 * changesRecordLimit + 64 * 1024;
    }

    /** Creates the topics that are missing; remembers which are still missing (see {@link #problem()}). */
    public void ensure() {
        try (Admin admin = Admin.create(kafka.clientProperties())) {
            List<String> missing = new ArrayList<>();
            // look first, create only what is missing: a principal without Create runs on topics an admin made
            for (String topic : stillMissing(admin, topics, 30)) {
                NewTopic spec = new NewTopic(topic, Optional.of(1), Optional.empty())
                        .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxRecordBytes)));
                try {
                    admin.createTopics(List.of(spec)).all().get(30, TimeUnit.SECONDS);
                    LOG.info("created topic {}", topic);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        LOG.info("cannot create topic {} ({}); checking that it exists", topic, e.getCause().toString());
                        missing.add(topic);
                    }
                }
            }
            report(missing.isEmpty() ? missing : stillMissing(admin, missing, 30), null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException | ExecutionException e) {
            report(topics, "Kafka " + kafka + " did not answer: " + e);
        }
    }

    /** Looks again, at most every few seconds, whether a missing topic has been created meanwhile. */
    public void recheckWhenDue() {
        if (problem == null || System.currentTimeMillis() < nextCheck) {
            return;
        }
        nextCheck = System.currentTimeMillis() + RECHECK_MILLIS;
        try (Admin admin = Admin.create(kafka.clientProperties())) {
            report(stillMissing(admin, topics, 3), null); // short: rechecks run on the apply thread
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException | ExecutionException e) {
            LOG.debug("checking the apply topics: {}", e.toString());
        }
    }

    /** Null when both topics exist; otherwise what is missing and what to do. */
    public String problem() {
        return problem;
    }

    private static List<String> stillMissing(Admin admin, List<String> wanted, int timeoutSeconds)
            throws ExecutionException, InterruptedException, TimeoutException {
        Set<String> existing = admin.listTopics().names().get(timeoutSeconds, TimeUnit.SECONDS);
        return wanted.stream().filter(t -> !existing.contains(t)).toList();
    }

    private void report(List<String> missing, String cause) {
        if (missing.isEmpty()) {
            if (problem != null) {
                LOG.info("apply topics {} exist now", topics);
            }
            problem = null;
            return;
        }
        String text = "topic(s) " + String.join(", ", missing) + (cause != null ? " unknown (" + cause + ")"
                : " missing and not creatable by this principal")
                + ": create them (1 partition, max.message.bytes=" + maxRecordBytes + ") or grant Create"
                + " (the apply principal also needs Write and Describe on them: README \"Kafka ACLs\");"
                + " until then a dead letter or conflict stops applying";
        if (!text.equals(problem)) {
            LOG.error("{}", text);
        }
        problem = text;
        nextCheck = System.currentTimeMillis() + RECHECK_MILLIS;
    }
}
