package io.ferry.cli.agent;

import io.ferry.cli.ExitCode;
import io.ferry.cli.MeshOptions;
import io.ferry.cli.OperatorException;
import io.ferry.cli.connect.KafkaConnector;
import io.ferry.cli.connect.RedisConnector;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.MeshConfig;
import io.ferry.topology.RedisAccess;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** What {@code ferry capture} and {@code ferry apply} share: the mesh file, the instance, the HTTP port, the pre-flight check. */
public final class AgentOptions {

    private static final Logger LOG = LoggerFactory.getLogger(AgentOptions.class);

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

    @Option(names = "--wait-for-servers", paramLabel = "SECONDS", defaultValue = "60",
            description = "At start, wait this long for the instance's Redis and Kafka to answer before giving up with "
                    + "exit code 3 or 4 (default ${DEFAULT-VALUE}; 0: do not wait). Bad credentials fail at once.")
    int waitForServers;

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
    InstanceConfig preflight(RedisAccess.Role role) {
        MeshConfig config = config();
        InstanceConfig self = MeshOptions.instance(config, instance);
        if (skipChecks) {
            return self;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitForServers);
        String lastWarning = null;
        while (true) {
            try {
                checkServers(self, role);
                return self;
            } catch (OperatorException e) {
                boolean unreachable = e.exitCode() == ExitCode.REDIS_UNREACHABLE || e.exitCode() == ExitCode.KAFKA_UNREACHABLE;
                if (!unreachable || System.nanoTime() > deadline) {
                    throw e;
                }
                if (!e.getMessage().equals(lastWarning)) {
                    LOG.warn("{} (waiting up to {} s for it)", e.getMessage(), waitForServers);
                    lastWarning = e.getMessage();
                }
                try {
                    Thread.sleep(2000);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private static void checkServers(InstanceConfig self, RedisAccess.Role role) {
        try (RedisConnector redis = new RedisConnector(self)) {
            redis.infoReplication();
            checkAccess(self, role, redis.access(role));
            if (role == RedisAccess.Role.CAPTURE) {
                checkClusterMode(self, redis.info("cluster"));
            }
        }
        try (KafkaConnector kafka = new KafkaConnector(self.kafka())) {
            kafka.checkReachable();
        }
    }

    /**
     * Exit 2 when the mesh file and the Redis disagree on Redis Cluster: a cluster node captured as a
     * standalone Redis would publish one shard's writes only; a standalone Redis has no shards to discover.
     */
    static void checkClusterMode(InstanceConfig self, java.util.Map<String, String> infoCluster) {
        boolean enabled = "1".equals(infoCluster.get("cluster_enabled"));
        if (enabled && !self.redis().cluster()) {
            throw new OperatorException(ExitCode.BAD_CONFIG, "Redis of instance '" + self.id() + "' at " + self.redis()
                    + " is a node of a Redis Cluster (cluster_enabled:1), but the mesh file does not say so: capturing it as a"
                    + " standalone Redis would publish the writes of that node's shard only. Set redis: {uri: ..., cluster: true}"
                    + " for instance '" + self.id() + "'");
        }
        if (!enabled && self.redis().cluster()) {
            throw new OperatorException(ExitCode.BAD_CONFIG, "Redis of instance '" + self.id() + "' at " + self.redis()
                    + " is not a Redis Cluster node (cluster_enabled:0), but the mesh file says cluster: true. Remove"
                    + " cluster: true for instance '" + self.id() + "', or point its uri at a node of the cluster");
        }
    }

    /** Exit 6 naming every permission the agent's Redis user lacks, with the line that grants them. */
    static void checkAccess(InstanceConfig self, RedisAccess.Role role, RedisAccess.Verdict verdict) {
        if (!verdict.checked()) {
            LOG.warn("Redis of instance '{}': {}", self.id(), verdict.note());
            return;
        }
        if (verdict.missing().isEmpty()) {
            return;
        }
        String user = self.redis().username() == null ? "default" : self.redis().username();
        throw new OperatorException(ExitCode.ACCESS_DENIED, "Redis user '" + user + "' of instance '" + self.id() + "' at "
                + self.redis() + " may not run what the " + role.label() + " agent needs: " + String.join(", ", verdict.missing())
                + ". Grant them (ACL SETUSER " + user + " +" + String.join(" +", verdict.missing()) + ") or create the user "
                + "with the README's line: ACL SETUSER " + user + " on ><password> " + role.aclRules()
                + (self.redis().cluster() ? " " + role.clusterRules() + " (on every node of the cluster)" : "")
                + (verdict.note() == null ? "" : ". " + verdict.note()));
    }

    int httpPort(int configured) {
        return httpPort != null ? httpPort : configured;
    }
}
