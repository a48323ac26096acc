package io.ferry.cli.monitor;

import io.ferry.cli.ExitCode;
import io.ferry.cli.MeshOptions;
import io.ferry.cli.OperatorException;
import io.ferry.cli.connect.KafkaConnector;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.AgentHttpServer;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.KafkaEndpoint;
import io.ferry.topology.MeshConfig;
import io.ferry.topology.conflicts.view.ConflictMonitorService;
import io.ferry.topology.conflicts.view.ConflictTableJson;
import io.ferry.topology.conflicts.view.ConflictTableView;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ferry monitor}: the mesh-wide conflict table (Kafka Streams), served as JSON and metrics until SIGTERM. */
@Command(name = "monitor", mixinStandardHelpOptions = true,
        header = "Run the mesh's conflict monitor: every instance's conflicts merged into one table.",
        description = {"Reads every instance's ferry.<instance>.conflicts topic with Kafka Streams (application id "
                + "ferry-monitor-<mesh>), merges the two records of one concurrent pair (one from each side's apply agent) "
                + "into one entry, and keeps per db, key and conflict class the open and the resolved conflicts. The table "
                + "is written to the compacted topic ferry.<mesh>.conflicts.table (created if missing) and served as JSON.",
                "An entry is resolved once a record says REPAIRED, SKIPPED or COMMUTES, reported once both sides recorded "
                + "it under the report policy, and open otherwise (REPAIR_FAILED keeps it open).",
                "HTTP: /conflicts (JSON; parameters state=open|resolved|reported|all, type=CLASS, db=N, key=ESCAPED-KEY, "
                + "limit=N), /metrics, /healthz, /readyz (ready once the table is restored and queryable).",
                "Instances whose Kafka is not the one read (see --kafka-of) are listed at start and left out."},
        footer = {"", "Example: ferry monitor --config mesh.yaml   then   curl 'localhost:9410/conflicts?state=open'"})
public final class MonitorCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(MonitorCommand.class);

    @Spec
    CommandSpec spec;

    @Mixin
    MeshOptions mesh;

    @Option(names = "--kafka-of", paramLabel = "ID",
            description = "Read the Kafka of this instance (default: the first instance's). Only the instances using that "
                    + "same Kafka are in the table.")
    String kafkaOf;

    @Option(names = "--http-port", paramLabel = "PORT", defaultValue = "9410",
            description = "Port for /conflicts, /metrics, /healthz and /readyz (default ${DEFAULT-VALUE}).")
    int httpPort;

    @Option(names = "--http-bind", paramLabel = "ADDRESS", defaultValue = "0.0.0.0",
            description = "Address for the HTTP endpoints (default ${DEFAULT-VALUE}).")
    String httpBind;

    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "Kafka Streams state directory (default: ferry-monitor-<mesh> in the system's temp directory). "
                    + "The table itself is kept in memory and restored from its changelog topic at start.")
    Path stateDir;

    @Option(names = "--wait-for-servers", paramLabel = "SECONDS", defaultValue = "60",
            description = "At start, wait this long for Kafka to answer before giving up with exit code 4 (default ${DEFAULT-VALUE}).")
    int waitForServers;

    @Override
    public Integer call() {
        MeshConfig config = mesh.load();
        InstanceConfig anchor = kafkaOf == null ? config.instances().values().iterator().next() : MeshOptions.instance(config, kafkaOf);
        KafkaEndpoint kafka = anchor.kafka();
        List<String> read = config.instances().values().stream().filter(i -> i.kafka().equals(kafka)).map(InstanceConfig::id).toList();
        List<String> notRead = config.instances().values().stream().filter(i -> !i.kafka().equals(kafka)).map(InstanceConfig::id).toList();
        awaitKafka(kafka);

        PrometheusMeterRegistry registry = AgentHttpServer.newRegistry();
        Path dir = stateDir != null ? stateDir : Path.of(System.getProperty("java.io.tmpdir"), "ferry-monitor-" + config.mesh());
        ConflictMonitorService monitor;
        try {
            monitor = new ConflictMonitorService(config.mesh(), kafka, read, dir, registry);
        } catch (IllegalArgumentException e) {
            throw new OperatorException(ExitCode.BAD_CONFIG, e.getMessage(), e);
        }
        AgentHttpServer http;
        try {
            http = new AgentHttpServer(httpBind, httpPort, registry, monitor::readiness);
        } catch (RuntimeException e) {
            throw new OperatorException(ExitCode.BAD_CONFIG, e.getMessage() + " (or pass --http-port)", e);
        }
        http.route("/conflicts", uri -> conflicts(config.mesh(), read, notRead, monitor, uri));
        return run(config.mesh(), monitor, http, read, notRead, kafka);
    }

    private int run(String meshName, ConflictMonitorService monitor, AgentHttpServer http, List<String> read, List<String> notRead,
                    KafkaEndpoint kafka) {
        java.io.PrintWriter out = spec.commandLine().getOut();
        CountDownLatch closed = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            LOG.info("monitor {}: stopping (signal)", meshName);
            monitor.close();
            http.close();
            closed.countDown();
            String failure = monitor.failure();
            out.println("ferry monitor " + meshName + ": stopped" + (failure == null ? "" : " (" + failure + ")"));
            out.flush();
            // SIGTERM is the normal way to stop it: the exit code reports the outcome, not the signal (143)
            Runtime.getRuntime().halt(failure == null ? ExitCode.OK : ExitCode.FAILED);
        }, "ferry-monitor-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        monitor.start();
        out.printf("ferry monitor %s: %s from Kafka %s into %s; /conflicts /metrics /healthz /readyz on %s:%d%n", meshName,
                String.join(", ", read.stream().map(ReplicationPolicy::conflictsTopic).toList()), kafka.bootstrap(),
                monitor.tableTopic(), httpBind, http.port());
        if (!notRead.isEmpty()) {
            out.println("ferry monitor " + meshName + ": not read (their Kafka is another one; run a monitor with --kafka-of "
                    + notRead.get(0) + "): " + notRead);
        }
        out.flush();
        while (monitor.isRunning()) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        String failure = monitor.failure();
        if (failure != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
                monitor.close();
                http.close();
            } catch (IllegalStateException shuttingDown) {
                // the hook closes them
            }
            throw new OperatorException(ExitCode.FAILED, "conflict monitor of mesh '" + meshName + "' stopped: " + failure);
        }
        try {
            closed.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return ExitCode.OK;
    }

    static AgentHttpServer.Reply conflicts(String meshName, List<String> read, List<String> notRead, ConflictMonitorService monitor,
                                           URI uri) {
        ConflictTableView.Filter filter;
        try {
            filter = ConflictTableView.Filter.parse(parameters(uri));
        } catch (IllegalArgumentException e) {
            return new AgentHttpServer.Reply(400, "text/plain", e.getMessage() + "\n");
        }
        try {
            return new AgentHttpServer.Reply(200, "application/json",
                    ConflictTableJson.render(meshName, read, notRead, monitor.view().query(filter)));
        } catch (InvalidStateStoreException e) {
            String why = monitor.readiness();
            return new AgentHttpServer.Reply(503, "text/plain", "the conflict table is not queryable yet"
                    + (why == null ? "" : ": " + why) + "\n");
        }
    }

    static Map<String, String> parameters(URI uri) {
        Map<String, String> parameters = new LinkedHashMap<>();
        String query = uri.getRawQuery();
        if (query == null || query.isEmpty()) {
            return parameters;
        }
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            parameters.put(name, value);
        }
        return parameters;
    }

    private void awaitKafka(KafkaEndpoint kafka) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitForServers);
        String lastWarning = null;
        while (true) {
            try (KafkaConnector connector = new KafkaConnector(kafka)) {
                connector.checkReachable();
                return;
            } catch (OperatorException e) {
                if (e.exitCode() != ExitCode.KAFKA_UNREACHABLE || System.nanoTime() > deadline) {
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
}
