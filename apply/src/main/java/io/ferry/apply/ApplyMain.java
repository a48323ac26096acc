package io.ferry.apply;

import io.ferry.topology.AgentHttpServer;
import io.ferry.topology.ConfigException;
import io.ferry.topology.MeshConfig;
import io.ferry.topology.MeshConfigLoader;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ApplyMain --config <mesh.yaml> --instance <id> [--http-port N] [--member-id ID]}: runs one
 * instance's apply agent and serves /metrics, /healthz and /readyz. SIGTERM finishes the batch in
 * flight and exits 0; a bad configuration exits 2; a fatal stop (for example a gap in Kafka) exits 3.
 * The member id (also {@code FERRY_APPLY_MEMBER_ID}) gives a replica a stable consumer-group identity.
 */
public final class ApplyMain {

    private static final Logger LOG = LoggerFactory.getLogger(ApplyMain.class);
    static final int EXIT_CONFIG = 2;
    static final int EXIT_FATAL = 3;

    private ApplyMain() {
    }

    public static void main(String[] args) {
        io.ferry.topology.FatalErrors.install();
        String config = null;
        String instance = null;
        Integer httpPort = null;
        String memberId = System.getenv("FERRY_APPLY_MEMBER_ID");
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (arg) {
                case "--config" -> config = value;
                case "--instance" -> instance = value;
                case "--http-port" -> {
                    try {
                        httpPort = Integer.parseInt(value);
                    } catch (NumberFormatException e) {
                        usage("--http-port needs a port number, got '" + value + "'");
                    }
                }
                case "--member-id" -> memberId = value;
                case "-h", "--help" -> {
                    usage(null);
                }
                default -> usage("unknown argument '" + arg + "'");
            }
            i++;
            if (value == null) {
                usage(arg + " needs a value");
            }
        }
        if (config == null || instance == null) {
            usage("--config and --instance are required");
        }
        MeshConfig mesh;
        try {
            mesh = MeshConfigLoader.load(Path.of(config));
            mesh.instance(instance);
        } catch (ConfigException e) {
            System.err.println("ferry apply: " + e.getMessage());
            System.exit(EXIT_CONFIG);
            return;
        }
        System.exit(run(mesh, instance, httpPort, memberId));
    }

    static int run(MeshConfig mesh, String instance, Integer httpPort, String memberId) {
        PrometheusMeterRegistry registry = AgentHttpServer.newRegistry();
        ApplyService service = new ApplyService(mesh, instance, registry, memberId);
        int port = httpPort != null ? httpPort : mesh.instance(instance).applyHttpPort();
        AgentHttpServer http;
        try {
            http = new AgentHttpServer("0.0.0.0", port, registry, service::readiness);
        } catch (RuntimeException e) {
            System.err.println("ferry apply: " + e.getMessage());
            service.close();
            return EXIT_CONFIG;
        }
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            service.close();
            http.close();
            closed.countDown();
            // a SIGTERM is the normal way to stop: report the outcome, not the signal (143)
            Runtime.getRuntime().halt(service.failure() == null ? 0 : EXIT_FATAL);
        }, "ferry-apply-shutdown"));
        service.start();
        LOG.info("apply agent '{}' serving /metrics, /healthz, /readyz on port {}", instance, http.port());
        while (service.isRunning()) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (service.failure() != null) {
            System.err.println("ferry apply " + instance + " stopped: " + service.failure());
            return EXIT_FATAL;
        }
        try {
            closed.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    private static void usage(String problem) {
        if (problem != null) {
            System.err.println("ferry apply: " + problem);
        }
        System.err.println("usage: ApplyMain --config <mesh.yaml> --instance <id> [--http-port N] [--member-id ID]");
        System.exit(problem == null ? 0 : EXIT_CONFIG);
    }
}
