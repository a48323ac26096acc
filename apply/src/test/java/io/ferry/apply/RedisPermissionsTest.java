package io.ferry.apply;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A Redis user that may not run Ferry's own commands stops the agent saying what to grant; it does not retry forever. */
class RedisPermissionsTest {

    @Test
    void aUserWhoMayNotWriteTheCheckpointStopsTheAgentNamingTheCommand() {
        // the default user (the one the fixture's mesh file logs in as) loses SET
        try (PeerTopicFixture f = new PeerTopicFixture(null, "--user", "default", "on", "nopass", "~*", "&*", "+@all", "-set")) {
            f.produce(f.command("INCR", "counter"));
            ApplyService service = f.startApply();
            Await.until(Duration.ofSeconds(30), "agent stopped", () -> service.failure() != null);
            assertTrue(service.failure().contains("Redis user may not run Ferry's SET (NOPERM"), service.failure());
            assertNull(f.get("counter"), "nothing applied without its checkpoint");
        }
    }
}
