package io.ferry.localmesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;

class LocalServersTest {

    @Test
    void startsBothRedisVersionsOnFreePortsAndStopsThemByPid() {
        RedisServer v70 = TestServers.redis(TestServers.redis70());
        RedisServer v62 = TestServers.redis(TestServers.redis62());
        assertTrue(v70.version().startsWith("7."), v70.version());
        assertTrue(v62.version().startsWith("6.2"), v62.version());
        RedisClient client = RedisClient.create(v62.uri());
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            c.sync().set("k", "v");
            assertEquals("v", c.sync().get("k"));
        } finally {
            client.shutdown();
        }
        v70.stop();
        v62.stop();
        assertFalse(ProcessHandle.of(v70.pid()).map(ProcessHandle::isAlive).orElse(false));
        assertFalse(ProcessHandle.of(v62.pid()).map(ProcessHandle::isAlive).orElse(false));
    }

    @Test
    void sharedKafkaBrokerCreatesTopics() throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", TestServers.kafka().bootstrap());
        try (Admin admin = Admin.create(props)) {
            admin.createTopics(List.of(new NewTopic("localmesh-test", 1, (short) 1))).all().get();
            Await.until(Duration.ofSeconds(10), "topic listed",
                    () -> admin.listTopics().names().toCompletionStage().toCompletableFuture().join().contains("localmesh-test"));
        }
    }
}
