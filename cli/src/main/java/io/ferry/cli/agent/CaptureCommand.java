package io.ferry.cli.agent;

import io.ferry.capture.CaptureService;
import io.ferry.topology.InstanceConfig;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code ferry capture}: runs one instance's capture agent until SIGTERM. */
@Command(name = "capture", mixinStandardHelpOptions = true,
        header = "Run an instance's capture agent (its Redis -> its Kafka topic).",
        description = {"Run the capture agent of one instance: reads its Redis's replication stream (as a replica, PSYNC) "
                + "into the topic ferry.<instance>.changes, in Kafka transactions together with its position "
                + "(ferry.<instance>.offsets). Resumes from that position after a restart. Run exactly one per instance: "
                + "a second one fences the first.",
                "Serves /metrics, /healthz and /readyz. SIGTERM (or Ctrl-C) commits the open transaction and stops.",
                "Before starting it checks that the instance's Redis and Kafka answer with the configured credentials "
                + "(see --wait-for-servers and --skip-checks)."},
        footer = {"", "Example: ferry capture --config mesh.yaml --instance eu-1"})
public final class CaptureCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    AgentOptions options;

    @Override
    public Integer call() {
        InstanceConfig instance = options.preflight();
        return AgentRunner.run("capture", instance, options.httpBind, options.httpPort(instance.captureHttpPort()),
                registry -> new CaptureService(options.config(), instance.id(), registry), spec.commandLine().getOut());
    }
}
