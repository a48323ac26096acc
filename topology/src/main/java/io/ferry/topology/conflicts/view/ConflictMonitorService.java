package io.ferry.topology.conflicts.view;

import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.FerryAgent;
import io.ferry.topology.KafkaEndpoint;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mesh's conflict monitor: runs {@link ConflictTableTopology} in Kafka Streams over the conflicts
 * topics of the instances that share one Kafka, creates the compacted table topic if it is missing,
 * and answers queries against the table ({@link #view()}). Ready once Kafka Streams is RUNNING (the
 * table restored from its changelog and the partitions assigned).
 *
 * <p>Meters: {@code ferry_monitor_conflict_records_total{applier}} (conflicts-topic records read),
 * {@code ferry_monitor_undecodable_records_total{applier}} (skipped) and
 * {@code ferry_monitor_conflicts{state}} (entries of the table by state, counted at scrape time).
 */
public final class ConflictMonitorService implements FerryAgent {

    private static final Logger LOG = LoggerFactory.getLogger(ConflictMonitorService.class);

    private final String mesh;
    private final KafkaEndpoint kafka;
    private final List<String> instances;
    private final Path stateDir;
    private final MeterRegistry registry;
    private final Map<String, Counter> read = new ConcurrentHashMap<>();
    private final Map<String, Counter> undecodable = new ConcurrentHashMap<>();
    private final ConflictTableView view;
    private volatile KafkaStreams streams;
    private volatile String failure;
    private volatile boolean closed;
    private volatile Map<String, Long> lastCounts = Map.of();
    private volatile long lastCountedNanos;

    /**
     * @param instances the instances whose conflicts topics live in {@code kafka}
     * @param stateDir  Kafka Streams' state directory (the store is in memory; this holds checkpoints and a lock)
     */
    public ConflictMonitorService(String mesh, KafkaEndpoint kafka, List<String> instances, Path stateDir, MeterRegistry registry) {
        this.mesh = ConflictTableNames.requireMesh(mesh);
        this.kafka = kafka;
        this.instances = List.copyOf(instances);
        this.stateDir = stateDir;
        this.registry = registry;
        this.view = new ConflictTableView(this::store);
        for (String state : List.of(ConflictEntryMerger.OPEN, ConflictEntryMerger.RESOLVED, ConflictEntryMerger.REPORTED)) {
            Gauge.builder("ferry.monitor.conflicts", this, m -> m.count(state))
                    .description("Conflicts in the mesh-wide table by state (NaN while the table is not queryable)")
                    .tags("state", state).register(registry);
        }
        for (String instance : this.instances) {
            String topic = ReplicationPolicy.conflictsTopic(instance);
            read.put(topic, Counter.builder("ferry.monitor.conflict.records")
                    .description("Records read from an apply agent's conflicts topic").tags("applier", instance).register(registry));
            undecodable.put(topic, Counter.builder("ferry.monitor.undecodable.records")
                    .description("Records of a conflicts topic that are not Ferry conflicts, skipped").tags("applier", instance)
                    .register(registry));
        }
    }

    public String tableTopic() {
        return ConflictTableNames.tableTopic(mesh);
    }

    public List<String> instances() {
        return instances;
    }

    public ConflictTableView view() {
        return view;
    }

    @Override
    public synchronized void start() {
        if (streams != null || closed) {
            return;
        }
        try {
            ensureTableTopic();
        } catch (RuntimeException e) {
            failure = "cannot create " + tableTopic() + " in Kafka at " + kafka.bootstrap() + ": " + e.getMessage();
            LOG.error(failure);
            return;
        }
        ConflictTableTopology.Listener listener = new ConflictTableTopology.Listener() {
            @Override
            public void recordRead(String topic) {
                Optional.ofNullable(read.get(topic)).ifPresent(Counter::increment);
            }

            @Override
            public void recordUndecodable(String topic, String reason) {
                Optional.ofNullable(undecodable.get(topic)).ifPresent(Counter::increment);
            }
        };
        KafkaStreams started = new KafkaStreams(ConflictTableTopology.build(mesh, instances, listener), properties());
        started.setUncaughtExceptionHandler(e -> {
            failure = "the conflict table stopped: " + e;
            LOG.error("conflict table: {}", e.toString(), e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        started.setStateListener((now, before) -> LOG.info("conflict table: Kafka Streams {} -> {}", before, now));
        streams = started;
        started.start();
        LOG.info("conflict table of mesh {}: reading {} into {}", mesh, ConflictTableNames.conflictsTopics(instances), tableTopic());
    }

    private Properties properties() {
        Properties props = kafka.clientProperties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, ConflictTableNames.applicationId(mesh));
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "1");
        // the table is read by people: publish its changes within a second, not every 30 s
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "1000");
        // conflicts topics are created by their apply agents, maybe after the monitor starts: look for them often
        props.put(StreamsConfig.METADATA_MAX_AGE_CONFIG, "30000");
        return props;
    }

    private void ensureTableTopic() {
        Properties props = kafka.clientProperties();
        props.put("client.id", ConflictTableNames.applicationId(mesh) + "-admin");
        try (Admin admin = Admin.create(props)) {
            // look before creating: a principal without Create runs on a table topic an admin made
            if (admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(tableTopic())) {
                return;
            }
            NewTopic topic = new NewTopic(tableTopic(), Optional.of(1), Optional.empty())
                    .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
            admin.createTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
            LOG.info("created {} (compacted)", tableTopic());
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("no answer within 30 s", e);
        }
    }

    private ReadOnlyKeyValueStore<ConflictTableKey, ConflictTableRow> store() {
        KafkaStreams running = streams;
        if (running == null) {
            throw new InvalidStateStoreException("the conflict table has not started");
        }
        return running.store(StoreQueryParameters.fromNameAndType(ConflictTableNames.STORE, QueryableStoreTypes.keyValueStore()));
    }

    /** One pass over the table serves the three state gauges of a scrape. */
    private double count(String state) {
        try {
            if (System.nanoTime() - lastCountedNanos > TimeUnit.SECONDS.toNanos(1)) {
                lastCounts = view.counts();
                lastCountedNanos = System.nanoTime();
            }
            return lastCounts.getOrDefault(state, 0L);
        } catch (InvalidStateStoreException e) {
            return Double.NaN;
        }
    }

    /** Null when the table is queryable and up to date with its changelog, otherwise why not. */
    @Override
    public String readiness() {
        if (failure != null) {
            return failure;
        }
        KafkaStreams running = streams;
        if (running == null) {
            return "not started";
        }
        KafkaStreams.State state = running.state();
        return state == KafkaStreams.State.RUNNING ? null
                : "Kafka Streams is " + state + (state == KafkaStreams.State.REBALANCING ? " (joining, or restoring the table)" : "");
    }

    @Override
    public String failure() {
        return failure;
    }

    @Override
    public boolean isRunning() {
        KafkaStreams running = streams;
        if (closed || running == null) {
            return false;
        }
        KafkaStreams.State state = running.state();
        return state != KafkaStreams.State.ERROR && state != KafkaStreams.State.NOT_RUNNING
                && state != KafkaStreams.State.PENDING_ERROR;
    }

    @Override
    public synchronized void close() {
        closed = true;
        KafkaStreams running = streams;
        if (running != null) {
            running.close(Duration.ofSeconds(30));
        }
    }
}
