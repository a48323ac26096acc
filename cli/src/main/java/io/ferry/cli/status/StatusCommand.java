package io.ferry.cli.status;

import io.ferry.cli.MeshOptions;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.MeshConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ferry status}: how far each capture and each apply is, and what went wrong, from the servers themselves. */
@Command(name = "status", mixinStandardHelpOptions = true,
        header = "Per instance: lifecycle state, capture position and lag, apply lag per peer, dead letters, conflicts.",
        description = {"Per instance: its Redis (role, master_repl_offset); its state (live, joining with progress, source on a new"
                + " replication history i.e. wiped and waiting, not started; instances whose topics remain but which the mesh file"
                + " no longer lists are shown as left); the capture's committed position and its lag in "
                + "bytes behind master_repl_offset; for each peer, the apply checkpoint stored in this Redis and how many "
                + "records of the peer's topic are not applied yet; dead letters and conflicts counted by reason; conflicts "
                + "also by resolution, with the latest few (key, class, the writes' origins, winner, resolution).",
                "Without --instance it ends with the conflicts of the whole mesh, the two records of a concurrent pair "
                + "merged into one: how many are open, resolved or reported, and the latest open ones.",
                "Bounded for big topics: conflicts are read from the latest offsets of each conflicts topic partition (--conflicts-window; the "
                + "count is then 'about N, of which the latest M' and the mesh-wide merge covers those), and a peer partition more "
                + "than 100000 offsets behind is reported as 'about N record(s) behind' from its offsets; ferry monitor keeps "
                + "the whole conflict history.",
                "Reads Redis and Kafka only (no agent needs to be up); exits non-zero if something is unreachable or a capture has not run."})
public final class StatusCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    MeshOptions mesh;

    @Option(names = {"-i", "--instance"}, paramLabel = "ID", description = "Only these instances (repeatable; default all).")
    List<String> instances = new ArrayList<>();

    @Option(names = "--conflicts", paramLabel = "N", defaultValue = "5",
            description = "Show each instance's N latest conflicts and, across the mesh, the N latest open ones "
                    + "(default ${DEFAULT-VALUE}; 0: counts only).")
    int recentConflicts;

    @Option(names = "--conflicts-window", paramLabel = "OFFSETS", defaultValue = "20000",
            description = "Read conflicts from the latest OFFSETS of each conflicts topic partition (default ${DEFAULT-VALUE}).")
    long conflictsWindow;

    @Override
    public Integer call() {
        MeshConfig config = mesh.load();
        StatusReport report = new StatusReport(spec.commandLine().getOut());
        report.line("mesh " + config.mesh() + ": " + config.instances().size() + " instances " + config.instances().keySet());
        List<InstanceConfig> selected = instances.isEmpty() ? List.copyOf(config.instances().values())
                : instances.stream().map(id -> MeshOptions.instance(config, id)).toList();
        try (MeshStatusReader reader = new MeshStatusReader(config, report, Math.max(0, recentConflicts),
                Math.max(1, conflictsWindow))) {
            selected.forEach(reader::report);
            if (instances.isEmpty()) {
                reader.leftInstances();
                reader.meshConflicts(); // both sides of every pair have been read
            }
        }
        return report.exitCode();
    }
}
