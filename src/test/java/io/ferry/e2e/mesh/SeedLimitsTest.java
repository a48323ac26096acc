package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ChangeEvent;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** Issue 3, test 4: what the seeds say is NOT synchronised stays local (FLUSHALL, PUBLISH, expiry and eviction DELs), and RESTORE never overwrites. */
class SeedLimitsTest {

    @Test
    void flushallPublishExpiryAndEvictionDeletesAndRestoreOverwritesDoNotCross() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.servers(TestServers.kafka(), null, "A", "B")) {
            // Before the agents start: the same key on both, and one only on A. Each capture's first
            // snapshot RESTOREs its keys on the peer, which must not overwrite the peer's own value.
            mesh.redis("A").set("shared", "fromA");
            mesh.redis("B").set("shared", "fromB");
            mesh.redis("A").set("onlyA", "1");
            mesh.startAgents();
            Await.equal(MeshUnderTest.CONVERGE, "A's snapshot key on B", "1", () -> mesh.redis("B").get("onlyA"));
            Await.until(MeshUnderTest.CONVERGE, "RESTORE of an existing key counted as a conflict on B",
                    () -> mesh.metric("B", "apply", "ferry_apply_conflicts_total", "type=\"RESTORE_EXISTS\"") >= 1);
            assertEquals("fromB", mesh.redis("B").get("shared"), "RESTORE does not overwrite");
            assertEquals("fromA", mesh.redis("A").get("shared"));
            assertEquals(0.0, mesh.metric("B", "apply", "ferry_apply_dead_letters_total"), "an existing key is not an error");

            // FLUSHALL on A does not reach B.
            mesh.redis("A").set("kept", "yes");
            Await.equal(MeshUnderTest.CONVERGE, "kept on B", "yes", () -> mesh.redis("B").get("kept"));
            mesh.redis("A").flushall();
            mesh.redis("A").set("marker:flush", "after");
            Await.equal(MeshUnderTest.CONVERGE, "write after FLUSHALL on B", "after", () -> mesh.redis("B").get("marker:flush"));
            assertEquals("yes", mesh.redis("B").get("kept"), "FLUSHALL must not be replicated");
            assertEquals("1", mesh.redis("B").get("onlyA"));

            // PUBLISH on A is not delivered on B.
            RedisClient subscriberClient = mesh.newClient("B");
            List<String> received = new CopyOnWriteArrayList<>();
            try (StatefulRedisPubSubConnection<String, String> sub = subscriberClient.connectPubSub()) {
                sub.addListener(new RedisPubSubAdapter<>() {
                    @Override
                    public void message(String channel, String message) {
                        received.add(message);
                    }
                });
                sub.sync().subscribe("news");
                assertEquals(0L, mesh.redis("A").publish("news", "from A"), "no subscriber on A itself");
                mesh.redis("A").set("marker:publish", "after");
                Await.equal(MeshUnderTest.CONVERGE, "write after PUBLISH on B", "after", () -> mesh.redis("B").get("marker:publish"));
                assertEquals(List.of(), received, "PUBLISH must not be replicated");
            } finally {
                subscriberClient.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }

            // A key expiring on A is not deleted on B by a replicated DEL: B expires it itself, at the same absolute time.
            mesh.redis("A").set("expiring", "v", SetArgs.Builder.px(4000));
            Await.equal(MeshUnderTest.CONVERGE, "expiring key on B", "v", () -> mesh.redis("B").get("expiring"));
            long expireAtA = mesh.redis("A").pexpiretime("expiring");
            assertEquals(expireAtA, mesh.redis("B").pexpiretime("expiring"), "same absolute expiry on both");
            Await.until(Duration.ofSeconds(30), "expired on A", () -> mesh.redis("A").exists("expiring") == 0);
            Await.until(Duration.ofSeconds(30), "expired on B", () -> mesh.redis("B").exists("expiring") == 0);
            assertTrue(System.currentTimeMillis() >= expireAtA, "B did not lose the key before its time");
            mesh.redis("A").set("marker:expiry", "after");
            Await.equal(MeshUnderTest.CONVERGE, "write after the expiry on B", "after", () -> mesh.redis("B").get("marker:expiry"));
            // Keys A evicts under maxmemory stay on B: eviction is each instance's own business.
            var a = mesh.redis("A");
            a.configSet("maxmemory-policy", "allkeys-random");
            a.configSet("maxmemory", "1gb"); // A may evict from now on: its capture checks every DEL
            for (int i = 0; i < 2_000; i++) {
                a.set("cache:" + i, "v".repeat(512));
            }
            Await.equal(MeshUnderTest.CONVERGE, "cache keys on B", "v".repeat(512), () -> mesh.redis("B").get("cache:1999"));
            long used = Long.parseLong(a.info("memory").replaceAll("(?s).*used_memory:(\\d+).*", "$1"));
            a.configSet("maxmemory", Long.toString(used - 512 * 1024));
            a.set("marker:evict", "after");
            long evicted = Long.parseLong(a.info("stats").replaceAll("(?s).*evicted_keys:(\\d+).*", "$1"));
            assertTrue(evicted > 100, "A evicted keys: " + evicted);
            Await.equal(MeshUnderTest.CONVERGE, "write after the evictions on B", "after", () -> mesh.redis("B").get("marker:evict"));
            a.configSet("maxmemory", "0");
            for (int i = 0; i < 2_000; i++) {
                assertEquals("v".repeat(512), mesh.redis("B").get("cache:" + i), "cache:" + i + " evicted on A is kept on B");
            }

            for (ChangeEvent event : mesh.changeEvents("A")) {
                for (var command : event.getCommands()) {
                    boolean delete = command.getName().equalsIgnoreCase("DEL") || command.getName().equalsIgnoreCase("UNLINK");
                    boolean ofExpiring = command.getArgs().stream().anyMatch(a2 -> "expiring".equals(StandardCharsets.UTF_8.decode(a2.duplicate()).toString()));
                    assertTrue(!(delete && ofExpiring), "A's expiry DEL was published: " + event);
                    assertTrue(!delete, "A's eviction DEL was published: " + event);
                    assertTrue(!command.getName().equalsIgnoreCase("FLUSHALL") && !command.getName().equalsIgnoreCase("PUBLISH"),
                            "published " + command.getName());
                }
            }
        }
    }
}
