package io.ferry.e2e.conflicts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ConflictingWrite;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.AgentHttpServer;
import io.ferry.topology.KafkaEndpoint;
import io.ferry.topology.conflicts.view.ConflictEntry;
import io.ferry.topology.conflicts.view.ConflictMonitorService;
import io.ferry.topology.conflicts.view.ConflictTableNames;
import io.ferry.topology.conflicts.view.ConflictTableRow;
import io.ferry.topology.conflicts.view.ConflictTableSerdes;
import io.ferry.topology.conflicts.view.ConflictTableView;
import io.ferry.topology.conflicts.view.KeyText;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

/**
 * The mesh-wide conflict table on a real broker: Kafka Streams reads every instance's conflicts topic
 * (one created only after the table started), merges the two sides of a pair, serves the table from its
 * store, writes it to its compacted topic, and restores it from its changelog after a restart.
 */
class ConflictTableOnBrokerTest {

    private static final Duration WAIT = Duration.ofSeconds(90);

    @Test
    void mergesEveryInstancesConflictsIntoAQueryableTableThatARestartRestores() throws Exception {
        try (ConflictTopicFixture mesh = new ConflictTopicFixture("table", "a", "b", "c")) {
            ConflictingWrite onA = mesh.write("a", 17, 1_000);
            ConflictingWrite onB = mesh.write("b", 42, 1_005);
            mesh.send(mesh.pair("b", "VALUE", "user:1", onA, onB, "lww", "b", "RECORDED"),
                    mesh.setnx("c", "a", "lock", 300));
            String late = "d-" + mesh.id("a").substring(2); // an instance whose apply agent has not run yet: no topic
            List<String> instances = new ArrayList<>(mesh.ids());
            instances.add(late);
            KafkaEndpoint kafka = new KafkaEndpoint(mesh.bootstrap(), Map.of());

            PrometheusMeterRegistry registry = AgentHttpServer.newRegistry();
            try (ConflictMonitorService monitor = new ConflictMonitorService(mesh.mesh, kafka, instances,
                    TestServers.tempDir("monitor-state"), registry)) {
                monitor.start();
                Await.until(WAIT, "the table ready, though " + late + "'s topic does not exist", () -> monitor.readiness() == null);
                Await.equal(WAIT, "one side of the pair and the SETNX, open", Map.of("open", 2L, "resolved", 0L, "reported", 0L),
                        () -> monitor.view().counts());

                mesh.send(mesh.pair("a", "VALUE", "user:1", onB, onA, "lww", "b", "SKIPPED"));
                Await.equal(WAIT, "the pair's other side merged in and settling it", Map.of("open", 1L, "resolved", 1L, "reported", 0L),
                        () -> monitor.view().counts());
                ConflictEntry pair = row(monitor, "user:1").getEntries().get(0);
                assertEquals(mesh.id("a") + "@17|" + mesh.id("b") + "@42", pair.getId());
                assertEquals(2, pair.getSightings().size());
                assertEquals(mesh.id("b"), pair.getWinner());

                try (Admin admin = Admin.create(Map.of("bootstrap.servers", mesh.bootstrap()))) {
                    ConfigResource table = new ConfigResource(ConfigResource.Type.TOPIC, ConflictTableNames.tableTopic(mesh.mesh));
                    assertEquals(TopicConfig.CLEANUP_POLICY_COMPACT, admin.describeConfigs(List.of(table)).all().get(30, TimeUnit.SECONDS)
                            .get(table).get(TopicConfig.CLEANUP_POLICY_CONFIG).value());
                    admin.createTopics(List.of(new NewTopic(ReplicationPolicy.conflictsTopic(late), Optional.of(1), Optional.empty())))
                            .all().get(30, TimeUnit.SECONDS);
                }
                Await.until(WAIT, "the table topic's latest row of user:1 is resolved", () -> {
                    ConflictTableRow latest = null;
                    for (var record : mesh.readAll(ConflictTableNames.tableTopic(mesh.mesh))) {
                        ConflictTableRow row = ConflictTableSerdes.rows().deserializer().deserialize(record.topic(), record.value());
                        if ("user:1".equals(KeyText.escape(row.getKey()))) {
                            latest = row;
                        }
                    }
                    return latest != null && "resolved".equals(latest.getEntries().get(0).getState());
                });

                // the late instance's topic was created after the start: it is read once Kafka Streams sees it
                mesh.send(mesh.setnx("a", "c", "lock", 301));
                Await.equal(WAIT, "the SETNX recorded by a", Map.of("open", 2L, "resolved", 1L, "reported", 0L),
                        () -> monitor.view().counts());

                String metrics = registry.scrape();
                assertTrue(metrics.contains("ferry_monitor_conflict_records_total{applier=\"" + mesh.id("b") + "\"} 1.0"), metrics);
                assertTrue(metrics.contains("ferry_monitor_conflicts{state=\"open\"} 2.0"), metrics);
            }

            try (ConflictMonitorService restarted = new ConflictMonitorService(mesh.mesh, kafka, instances,
                    TestServers.tempDir("monitor-state-2"), AgentHttpServer.newRegistry())) {
                restarted.start();
                Await.until(WAIT, "the restarted table ready", () -> restarted.readiness() == null);
                Await.equal(WAIT, "the table restored from its changelog (a fresh state directory)",
                        Map.of("open", 2L, "resolved", 1L, "reported", 0L), () -> restarted.view().counts());
                assertEquals("SKIPPED", row(restarted, "user:1").getEntries().get(0).getResolution());
            }
        }
    }

    private static ConflictTableRow row(ConflictMonitorService monitor, String key) {
        ConflictTableView.Result result = monitor.view().query(ConflictTableView.Filter.parse(Map.of("key", key)));
        assertEquals(1, result.rows().size(), key + ": " + result);
        return result.rows().get(0);
    }
}
