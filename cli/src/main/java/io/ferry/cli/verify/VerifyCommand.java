package io.ferry.cli.verify;

import io.ferry.cli.ExitCode;
import io.ferry.cli.MeshOptions;
import io.ferry.cli.OperatorException;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.MeshConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ferry verify}: anti-entropy. Compares every key across instances and, with --repair, makes them equal through Ferry. */
@Command(name = "verify", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Compares the instances key by key; --repair makes diverged keys equal through Ferry.",
        description = {"SCANs every chosen instance (default: all of the mesh file), every db with keys, and compares each key "
                + "across them: type, content (sets and hashes in any order, sorted sets by member and score, lists, streams "
                + "and strings exactly, as bytes) and absolute expiry (within --ttl-tolerance-ms). Ferry's own __ferry:* keys "
                + "are skipped. A key that differs is read again a few times within about 2 s before it is reported, so writes "
                + "still on their way through Kafka are no false alarm.",
                "",
                "A Redis Cluster instance (cluster: true) is SCANned on every master serving slots, never on replicas, and "
                + "each key is read from (and --repair republishes it on) the master of its slot, following MOVED and ASK. "
                + "A cluster has db 0 only.",
                "",
                "Prints each diverged key with every instance's copy (type, size, first bytes, expiry, digest, when last "
                + "touched) and a summary line. Exits 0 when every key is the same everywhere, 1 when some differ.",
                "",
                "--repair picks a winner per diverged key by the key's conflicts policy in the mesh file (priority: the first "
                + "instance of its order among those compared; lww: the copy touched last by OBJECT IDLETIME, ties and missing "
                + "copies to the greater instance id; report: not repaired) and republishes the winner's copy there only, as "
                + "an ordinary write: the winner's capture agent publishes it and the peers' apply agents apply it. So the "
                + "mesh's capture and apply agents MUST be running. It then waits up to --repair-timeout for the other "
                + "instances to match and exits 0 when every diverged key was repaired.",
                "",
                "Reads go at most --rate keys per second to each instance (a SCAN page, an EXISTS batch and each further "
                + "page of 1000 elements of a big value count as one key more), so production does not feel it. Progress goes "
                + "to stderr when it is a terminal."})
public final class VerifyCommand implements Callable<Integer> {

    /** Exit code when keys differ (after --repair: still differ). */
    static final int DIVERGED = 1;

    @Spec
    CommandSpec spec;

    @Mixin
    MeshOptions mesh;

    @Option(names = "--instances", split = ",", paramLabel = "ID",
            description = "Compare only these instances, comma-separated, at least two (default: all).")
    List<String> instances = new ArrayList<>();

    @Option(names = "--match", paramLabel = "PATTERN", defaultValue = "*",
            description = "Only keys matching this SCAN MATCH glob (default: ${DEFAULT-VALUE}).")
    String match;

    @Option(names = "--rate", paramLabel = "KEYS_PER_S", defaultValue = "1000",
            description = "At most this many keys read per second from each instance (default: ${DEFAULT-VALUE}).")
    int rate;

    @Option(names = "--ttl-tolerance-ms", paramLabel = "MS", defaultValue = "1000",
            description = "Absolute expiries this close count as equal (default: ${DEFAULT-VALUE}).")
    long ttlToleranceMillis;

    @Option(names = "--repair", description = "Republish each diverged key from the instance its policy picks, "
            + "then wait for the others to match. Needs the mesh's capture and apply agents running.")
    boolean repair;

    @Option(names = "--repair-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "How long --repair waits for the repaired keys to match everywhere (default: ${DEFAULT-VALUE}).")
    int repairTimeoutSeconds;

    @Override
    public Integer call() {
        checkOptions();
        MeshConfig config = mesh.load();
        List<InstanceConfig> selected = selected(config);
        List<String> ids = selected.stream().map(InstanceConfig::id).toList();
        PrintWriter out = spec.commandLine().getOut();
        VerifyReport report = new VerifyReport(out, stderrIsTerminal() ? spec.commandLine().getErr() : null,
                config.conflicts(), ids);
        List<InstanceClient> clients = new ArrayList<>();
        MeshReader reader = null;
        try {
            for (InstanceConfig instance : selected) {
                InstanceClient client = new InstanceClient(instance, rate);
                clients.add(client);
                client.connect();
            }
            reader = new MeshReader(clients);
            long start = System.nanoTime();
            report.line("verify: mesh " + config.mesh() + ", comparing " + String.join(", ", ids) + ", keys matching \""
                    + match + "\", at most " + rate + " keys/s per instance");
            CopyComparator comparator = new CopyComparator(ttlToleranceMillis);
            MeshVerifier.Outcome outcome = new MeshVerifier(reader, comparator, match.getBytes(StandardCharsets.UTF_8), report).run();
            report.clearProgress();
            int diverged = outcome.diverged().size();
            int repaired = 0;
            if (repair && diverged > 0) {
                KeyRepairer.Outcome repairs = new KeyRepairer(reader, config.conflicts(), comparator,
                        Duration.ofSeconds(repairTimeoutSeconds), report).repair(outcome.diverged());
                repaired = repairs.repaired();
                if (repairs.repaired() < repairs.republished()) {
                    report.line("verify: " + (repairs.republished() - repairs.repaired()) + " republished key(s) did not converge "
                            + "within " + repairTimeoutSeconds + " s. A repair goes through Ferry: the winner's capture agent "
                            + "publishes it and its peers' apply agents apply it, so every capture and apply agent of the mesh "
                            + "must be running; check with: ferry status -c " + mesh.file() + ", then run ferry verify again.");
                }
            }
            report.line(String.format(Locale.ROOT, "verify: %d keys checked on %s, %d diverged, %d repaired (%.1f s)",
                    outcome.keysChecked(), String.join(", ", ids), diverged, repaired, (System.nanoTime() - start) / 1e9));
            return diverged == repaired ? ExitCode.OK : DIVERGED;
        } finally {
            report.clearProgress();
            if (reader != null) {
                reader.close();
            }
            clients.forEach(InstanceClient::close);
        }
    }

    private void checkOptions() {
        List<String> problems = new ArrayList<>();
        if (rate <= 0) {
            problems.add("--rate must be at least 1 key per second, got " + rate);
        }
        if (ttlToleranceMillis < 0) {
            problems.add("--ttl-tolerance-ms must be 0 or more, got " + ttlToleranceMillis);
        }
        if (repairTimeoutSeconds <= 0) {
            problems.add("--repair-timeout must be at least 1 second, got " + repairTimeoutSeconds);
        }
        if (match.isEmpty()) {
            problems.add("--match must not be empty (use \"*\" for every key)");
        }
        if (!problems.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), String.join("; ", problems));
        }
    }

    private List<InstanceConfig> selected(MeshConfig config) {
        List<InstanceConfig> selected = instances.isEmpty() ? List.copyOf(config.instances().values())
                : new LinkedHashSet<>(instances).stream().map(id -> MeshOptions.instance(config, id.trim())).toList();
        if (selected.size() < 2) {
            throw new OperatorException(ExitCode.BAD_CONFIG, "verify compares at least two instances; "
                    + (instances.isEmpty() ? "mesh '" + config.mesh() + "' has " : "--instances names ")
                    + selected.stream().map(InstanceConfig::id).toList());
        }
        return selected;
    }

    /** Whether this process's stderr is a terminal (Linux: where fd 2 points; elsewhere: whether there is a console). */
    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return System.console() != null;
        }
    }
}
