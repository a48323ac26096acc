package io.ferry.capture;

import io.ferry.topology.AgentHttpServer;
import io.ferry.topology.ConfigException;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.MeshConfig;
import io.ferry.topology.MeshConfigLoader;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code capture --config <mesh.yaml> --instance <id> [--http-port N] [--accept-wiped-source REPLID]}: runs one instance's capture
 * agent until SIGTERM (clean stop: the open transaction is committed). Serves /metrics, /healthz and
 * /readyz on the instance's capture port (or {@code --http-port}; 0 picks a free one).
 * {@code --accept-wiped-source} takes a source that came back wiped under that replication id as it is
 * (see {@link CaptureService}). Exit codes:
 * 0 stopped, 1 failed (for example fenced by another capture), 2 bad arguments or configuration.
 */
public final class CaptureMain {

    private CaptureMain() {
    }

    public static void main(String[] args) {
        io.ferry.topology.FatalErrors.install();
        System.exit(run(args));
    }

    static int run(String[] args) {
        String config = null;
        String instanceId = null;
        Integer httpPort = null;
        String acceptWiped = null;
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (arg) {
                case "--config" -> {
                    config = value;
                    i++;
                }
                case "--instance" -> {
                    instanceId = value;
                    i++;
                }
                case "--http-port" -> {
                    try {
                        httpPort = Integer.parseInt(String.valueOf(value));
                    } catch (NumberFormatException e) {
                        problems.add("--http-port: '" + value + "' is not a port number");
                    }
                    i++;
                }
                case "--accept-wiped-source" -> {
                    if (value == null || value.startsWith("--")) {
                        problems.add("--accept-wiped-source needs the source's new replication id (the capture's log names it)");
                    }
                    acceptWiped = value;
                    i++;
                }
                case "-h", "--help" -> {
                    System.out.println(usage());
                    return 0;
                }
                default -> problems.add("unknown argument '" + arg + "'");
            }
        }
        if (config == null) {
            problems.add("--config <mesh.yaml> is required");
        }
        if (instanceId == null) {
            problems.add("--instance <id> is required");
        }
        if (!problems.isEmpty()) {
            System.err.println("ferry capture: " + String.join("; ", problems) + "\n" + usage());
            return 2;
        }
        MeshConfig mesh;
        InstanceConfig instance;
        try {
            mesh = MeshConfigLoader.load(Path.of(config));
            instance = mesh.instance(instanceId);
        } catch (ConfigException e) {
            System.err.println("ferry capture: " + e.getMessage());
            return 2;
        }
        String id = instanceId;
        PrometheusMeterRegistry registry = AgentHttpServer.newRegistry();
        CaptureService service = new CaptureService(mesh, instanceId, registry, acceptWiped);
        AgentHttpServer http;
        try {
            http = new AgentHttpServer("0.0.0.0", httpPort != null ? httpPort : instance.captureHttpPort(), registry, service::readiness);
        } catch (RuntimeException e) {
            System.err.println("ferry capture: " + e.getMessage());
            return 2;
        }
        System.out.println("ferry capture " + instanceId + ": Redis " + instance.redis() + ", Kafka " + instance.kafka()
                + ", http port " + http.port());
        Thread shutdown = new Thread(() -> {
            service.close();
            http.close();
            System.err.println("ferry capture " + id + " stopped" + (service.failure() == null ? "" : ": " + service.failure()));
            // a SIGTERM is the normal way to stop: report the outcome, not the signal (143)
            Runtime.getRuntime().halt(service.failure() == null ? 0 : 1);
        }, "ferry-capture-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdown);
        service.start();
        try {
            service.awaitStop(Duration.ofDays(365_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        String failure = service.failure();
        if (failure != null) {
            System.err.println("ferry capture " + instanceId + " stopped: " + failure);
            return 1;
        }
        return 0;
    }

    private static String usage() {
        return "usage: capture --config <mesh.yaml> --instance <id> [--http-port N] [--accept-wiped-source REPLID]";
    }
}
