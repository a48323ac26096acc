package io.ferry.cli.agent;

import io.ferry.cli.MeshOptions;
import io.ferry.cli.connect.KafkaConnector;
import io.ferry.cli.connect.RedisConnector;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.MeshConfig;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** What {@code ferry capture} and {@code ferry apply} share: the mesh file, the instance, the HTTP port, the pre-flight check. */
public final class AgentOptions {

    @Mixin
    MeshOptions mesh;

    @Option(names = {"-i", "--instance"}, required = true, paramLabel = "ID", defaultValue = "${env:FERRY_INSTANCE}",
            description = "The instance this agent serves (an id from the mesh file). Default: $FERRY_INSTANCE.")
    String instance;

    @Option(names = "--http-port", paramLabel = "PORT",
            description = "Port for /metrics, /healthz and /readyz (default: the mesh file's instances.<id>.http setting).")
    Integer httpPort;

    @Option(names = "--http-bind", paramLabel = "ADDRESS", defaultValue = "0.0.0.0",
            description = "Address for the HTTP endpoints (default ${DEFAULT-VALUE}).")
    String httpBind;

    @Option(names = "--skip-checks", description = "Start even if Redis or Kafka does not answer yet (the agent then retries on its own).")
    boolean skipChecks;

    private MeshConfig config;

    MeshConfig config() {
        if (config == null) {
            config = mesh.load();
        }
        return config;
    }

    /**
     * Validates the mesh file and, unless skipped, that this instance's Redis and Kafka answer with the
     * configured credentials, so a misconfigured agent stops at once with a message saying what to fix
     * instead of retrying forever.
     */
    InstanceConfig preflight() {
        MeshConfig config = config();
        InstanceConfig self = MeshOptions.instance(config, instance);
        if (!skipChecks) {
            try (RedisConnector redis = new RedisConnector(self)) {
                redis.infoReplication();
            }
            try (KafkaConnector kafka = new KafkaConnector(self.kafka())) {
                kafka.checkReachable();
            }
        }
        return self;
    }

    int httpPort(int configured) {
        return httpPort != null ? httpPort : configured;
    }
}
