package io.ferry.cli.agent;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.cli.ExitCode;
import io.ferry.cli.OperatorException;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.RedisEndpoint;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClusterModeCheckTest {

    private static InstanceConfig instance(boolean cluster) {
        return new InstanceConfig("eu-1", new RedisEndpoint("10.0.0.1", 6379, false, null, "secret", cluster), null, 0, 0);
    }

    @Test
    void aClusterNodeNotMarkedClusterInTheMeshFileStopsTheCaptureBeforeItPublishesOneShardOnly() {
        OperatorException e = assertThrows(OperatorException.class,
                () -> AgentOptions.checkClusterMode(instance(false), Map.of("cluster_enabled", "1")));
        assertEquals(ExitCode.BAD_CONFIG, e.exitCode());
        assertTrue(e.getMessage().contains("cluster: true"), e.getMessage());
        assertTrue(!e.getMessage().contains("secret"), "no password in the message");
    }

    @Test
    void aStandaloneRedisMarkedClusterStopsTheCapture() {
        OperatorException e = assertThrows(OperatorException.class,
                () -> AgentOptions.checkClusterMode(instance(true), Map.of("cluster_enabled", "0")));
        assertEquals(ExitCode.BAD_CONFIG, e.exitCode());
        assertTrue(e.getMessage().contains("not a Redis Cluster node"), e.getMessage());
    }

    @Test
    void matchingModesPass() {
        assertDoesNotThrow(() -> AgentOptions.checkClusterMode(instance(true), Map.of("cluster_enabled", "1")));
        assertDoesNotThrow(() -> AgentOptions.checkClusterMode(instance(false), Map.of("cluster_enabled", "0")));
    }
}
