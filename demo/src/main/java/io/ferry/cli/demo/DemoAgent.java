package io.ferry.cli.demo;

import io.ferry.apply.ApplyService;
import io.ferry.capture.CaptureAgents;
import io.ferry.topology.AgentHttpServer;
import io.ferry.topology.FerryAgent;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.MeshConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.function.Function;

/**
 * A capture or apply agent running inside the demo's JVM, serving /metrics, /healthz and /readyz on
 * the port the mesh file gives it, exactly as {@code ferry capture} / {@code ferry apply} would.
 */
final class DemoAgent implements AutoCloseable {

    private final String name;
    private final FerryAgent service;
    private final AgentHttpServer http;

    private DemoAgent(String name, FerryAgent service, AgentHttpServer http) {
        this.name = name;
        this.service = service;
        this.http = http;
    }

    static DemoAgent capture(MeshConfig mesh, InstanceConfig instance) {
        return start("capture " + instance.id(), instance.captureHttpPort(),
                registry -> CaptureAgents.forInstance(mesh, instance.id(), registry, null));
    }

    static DemoAgent apply(MeshConfig mesh, InstanceConfig instance) {
        return start("apply " + instance.id(), instance.applyHttpPort(),
                registry -> new ApplyService(mesh, instance.id(), registry));
    }

    private static DemoAgent start(String name, int port, Function<PrometheusMeterRegistry, FerryAgent> create) {
        PrometheusMeterRegistry registry = AgentHttpServer.newRegistry();
        FerryAgent service = create.apply(registry);
        DemoAgent agent = new DemoAgent(name, service, new AgentHttpServer("127.0.0.1", port, registry, service::readiness));
        try {
            service.start();
        } catch (RuntimeException e) {
            agent.close();
            throw e;
        }
        return agent;
    }

    String name() {
        return name;
    }

    /** Null when ready, else why not. */
    String readiness() {
        try {
            return service.readiness();
        } catch (RuntimeException e) {
            return e.toString();
        }
    }

    @Override
    public void close() {
        try {
            service.close();
        } catch (RuntimeException e) {
            System.err.println("demo: stopping " + name + ": " + e);
        } finally {
            http.close();
        }
    }
}
