package io.ferry.cli.agent;

import io.ferry.apply.ApplyService;
import io.ferry.topology.InstanceConfig;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ferry apply}: runs one instance's apply agent until SIGTERM. */
@Command(name = "apply", mixinStandardHelpOptions = true,
        header = "Run an instance's apply agent (peers' topics -> its Redis).",
        description = {"Run the apply agent of one instance: consumes every peer's ferry.<peer>.changes topic and applies "
                + "the commands to this instance's Redis exactly once, in MULTI/EXEC batches that also write the checkpoint "
                + "(__ferry:ckpt:<peer>:<partition>; on a Redis Cluster one MULTI/EXEC per slot, each with that slot's "
                + "__ferry:ckpt:{<tag>}:<peer>:<partition>). Failed commands go to ferry.<instance>.deadletters, conflicting "
                + "writes to ferry.<instance>.conflicts. Consumer group: ferry-apply-<instance>.",
                "Serves /metrics, /healthz and /readyz. SIGTERM (or Ctrl-C) finishes the batch in flight, commits it and stops.",
                "Before starting it checks that the instance's Redis and Kafka answer with the configured credentials, and "
                + "(Redis 7, ACL DRYRUN) that its Redis user may run every command it needs (exit 6 names the missing ones) "
                + "(see --wait-for-servers and --skip-checks)."},
        footer = {"", "Example: ferry apply --config mesh.yaml --instance eu-1"})
public final class ApplyCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    AgentOptions options;

    @Option(names = "--member-id", paramLabel = "ID", defaultValue = "${env:FERRY_APPLY_MEMBER_ID}",
            description = "Stable consumer-group member id of this replica (default: $FERRY_APPLY_MEMBER_ID, else none).")
    String memberId;

    @Override
    public Integer call() {
        InstanceConfig instance = options.preflight(io.ferry.topology.RedisAccess.Role.APPLY);
        return AgentRunner.run("apply", instance, options.httpBind, options.httpPort(instance.applyHttpPort()),
                registry -> new ApplyService(options.config(), instance.id(), registry, memberId), spec.commandLine().getOut());
    }
}
