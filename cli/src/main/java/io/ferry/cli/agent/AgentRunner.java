package io.ferry.cli.agent;

import io.ferry.cli.ExitCode;
import io.ferry.cli.FailureClassifier;
import io.ferry.cli.OperatorException;
import io.ferry.topology.AgentHttpServer;
import io.ferry.topology.FerryAgent;
import io.ferry.topology.InstanceConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one agent (capture or apply) as a process: its HTTP endpoints, its service, and a shutdown hook
 * so SIGTERM or Ctrl-C closes the service (which commits what it has done) before the JVM exits. If
 * the agent stops on its own (fenced by a second capture, a gap in Kafka, denied by ACLs) the command
 * fails with {@link ExitCode#FAILED} and the agent's reason.
 */
final class AgentRunner {

    private static final Logger LOG = LoggerFactory.getLogger(AgentRunner.class);

    private AgentRunner() {
    }

    static int run(String role, InstanceConfig instance, String bind, int port,
                   Function<PrometheusMeterRegistry, FerryAgent> create, PrintWriter out) {
        PrometheusMeterRegistry registry = AgentHttpServer.newRegistry();
        FerryAgent agent = create.apply(registry);
        AgentHttpServer http;
        try {
            http = new AgentHttpServer(bind, port, registry, agent::readiness);
        } catch (RuntimeException e) {
            agent.close();
            throw new OperatorException(ExitCode.BAD_CONFIG, e.getMessage(), e);
        }
        CountDownLatch closed = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            LOG.info("{} {}: stopping (signal)", role, instance.id());
            agent.close();
            http.close();
            closed.countDown();
            String failure = agent.failure();
            out.println("ferry " + role + " " + instance.id() + ": stopped" + (failure == null ? "" : " (" + failure + ")"));
            out.flush();
            // SIGTERM is the normal way to stop an agent: the exit code reports the outcome, not the signal (143)
            Runtime.getRuntime().halt(failure == null ? ExitCode.OK : ExitCode.FAILED);
        }, "ferry-" + role + "-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        agent.start();
        out.printf("ferry %s %s: Redis %s, Kafka %s; /metrics /healthz /readyz on %s:%d%n",
                role, instance.id(), instance.redis(), instance.kafka().bootstrap(), bind, http.port());
        out.flush();
        while (agent.isRunning()) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        String failure = agent.failure();
        if (failure != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
                agent.close();
                http.close();
            } catch (IllegalStateException shuttingDown) {
                // the hook closes them
            }
            throw FailureClassifier.agentStopped(role, instance.id(), failure);
        }
        try {
            closed.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return ExitCode.OK;
    }
}
