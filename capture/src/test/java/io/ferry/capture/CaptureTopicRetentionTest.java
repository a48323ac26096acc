package io.ferry.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.capture.publish.TopicProvisioner;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ReplicationPolicy;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

/** Issue 11, retention as configuration: changes topics keep what the mesh file says, operators' settings stay theirs. */
class CaptureTopicRetentionTest {

    private static final long H = 3_600_000L;

    @Test
    void aNewChangesTopicIsCreatedWithTheMeshFilesRetention() throws Exception {
        try (Admin admin = admin()) {
            String id = CaptureFixture.instanceId("ret-new");
            TopicProvisioner.ensure(admin, id, 1, 900 * 1024, 336 * H);
            assertEquals(336 * H, retention(admin, id));
        }
    }

    @Test
    void anExistingTopicKeepsAnOperatorsSettingAndFollowsTheMeshFileWhereFerryOwnsIt() throws Exception {
        try (Admin admin = admin()) {
            String operators = precreated(admin, "ret-op", Map.of(TopicConfig.RETENTION_MS_CONFIG, Long.toString(H)));
            TopicProvisioner.ensure(admin, operators, 1, 900 * 1024, 168 * H);
            assertEquals(H, retention(admin, operators), "shorter, but the operator's: warned about, not changed");

            String brokerDefault = precreated(admin, "ret-broker", Map.of());
            TopicProvisioner.ensure(admin, brokerDefault, 1, 900 * 1024, 336 * H);
            assertEquals(336 * H, settled(admin, brokerDefault, 336 * H), "an earlier Ferry's topic on the broker's 7 days is raised");

            String ferrys = precreated(admin, "ret-ferry", Map.of(TopicConfig.RETENTION_MS_CONFIG, Long.toString(168 * H)));
            TopicProvisioner.ensure(admin, ferrys, 1, 900 * 1024, 72 * H);
            assertEquals(72 * H, settled(admin, ferrys, 72 * H), "Ferry's own default follows the mesh file");
        }
    }

    private static Admin admin() {
        return Admin.create(Map.of("bootstrap.servers", TestServers.kafka().bootstrap()));
    }

    private static String precreated(Admin admin, String prefix, Map<String, String> configs) throws Exception {
        String id = CaptureFixture.instanceId(prefix);
        admin.createTopics(List.of(new NewTopic(ReplicationPolicy.changesTopic(id), Optional.of(1), Optional.empty()).configs(configs)))
                .all().get(30, TimeUnit.SECONDS);
        return id;
    }

    /** The topic's retention once it reads {@code expected}, or as last read after 10 s (an altered config takes a moment to show). */
    private static long settled(Admin admin, String id, long expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long read = retention(admin, id);
        while (read != expected && System.nanoTime() < deadline) {
            Thread.sleep(100);
            read = retention(admin, id);
        }
        return read;
    }

    private static long retention(Admin admin, String id) throws Exception {
        ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, ReplicationPolicy.changesTopic(id));
        return Long.parseLong(admin.describeConfigs(List.of(topic)).all().get(30, TimeUnit.SECONDS).get(topic)
                .get(TopicConfig.RETENTION_MS_CONFIG).value());
    }
}
