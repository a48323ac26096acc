package io.ferry.cli.agent;

import io.ferry.capture.CaptureAgents;
import io.ferry.topology.InstanceConfig;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ferry capture}: runs one instance's capture agent until SIGTERM. */
@Command(name = "capture", mixinStandardHelpOptions = true,
        header = "Run an instance's capture agent (its Redis -> its Kafka topic).",
        description = {"Run the capture agent of one instance: reads its Redis's replication stream (as a replica, PSYNC) "
                + "into the topic ferry.<instance>.changes, in Kafka transactions together with its position "
                + "(ferry.<instance>.offsets). Resumes from that position after a restart. Run exactly one per instance: "
                + "a second one fences the first.",
                "Serves /metrics, /healthz and /readyz. SIGTERM (or Ctrl-C) commits the open transaction and stops.",
                "Before starting it checks that the instance's Redis and Kafka answer with the configured credentials, and "
                + "(Redis 7, ACL DRYRUN) that its Redis user may run every command it needs (exit 6 names the missing ones) "
                + "(see --wait-for-servers and --skip-checks).",
                "A Redis that comes back wiped (new replication id, its data gone) is not published: the capture logs an "
                + "ERROR, answers 503 on /readyz, sets ferry_capture_source_wiped and waits; see --accept-wiped-source."},
        footer = {"", "Example: ferry capture --config mesh.yaml --instance eu-1"})
public final class CaptureCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    AgentOptions options;

    @Option(names = "--accept-wiped-source", paramLabel = "REPLID",
            description = {"Accept the instance's Redis, which came back wiped under this replication id (the capture's "
                    + "ERROR names it), as the truth for its future writes: its current keys are NOT published (an empty "
                    + "snapshot marks the new history), its writes from then on are. Applies to that replication id only, "
                    + "so leaving the option in place accepts no later wipe."})
    String acceptWipedSource;

    @Override
    public Integer call() {
        InstanceConfig instance = options.preflight(io.ferry.topology.RedisAccess.Role.CAPTURE);
        return AgentRunner.run("capture", instance, options.httpBind, options.httpPort(instance.captureHttpPort()),
                registry -> CaptureAgents.forInstance(options.config(), instance.id(), registry, acceptWipedSource), spec.commandLine().getOut());
    }
}
