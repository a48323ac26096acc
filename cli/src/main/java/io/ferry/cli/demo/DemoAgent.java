package io.ferry.cli.demo;

import io.ferry.apply.ApplyService;
import io.ferry.capture.CaptureService;
import io.ferry.topology.AgentHttpServer;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.MeshConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.function.Supplier;

/**
 * A capture or apply agent running inside the demo's JVM, serving /metrics, /healthz and /readyz on
 * the port the mesh file gives it, exactly as {@code ferry capture} / {@code ferry apply} would.
 */
final class DemoAgent implements AutoCloseable {

    private final String role;
    private final String instance;
    private final AutoCloseable service;
    private final Supplier<String> readiness;
    private final AgentHttpServer http;

    private DemoAgent(String role, String instance, AutoCloseable service, Supplier<String> readiness, AgentHttpServer http) {
        this.role = role;
        this.instance = instance;
        this.service = service;
        this.readiness = readiness;
        this.http = http;
    }

    static DemoAgent capture(MeshConfig mesh, InstanceConfig instance) {
        PrometheusMeterRegistry registry = AgentHttpServer.newRegistry();
        CaptureService service = new CaptureService(mesh, instance.id(), registry);
        AgentHttpServer http = new AgentHttpServer("127.0.0.1", instance.captureHttpPort(), registry, service::readiness);
        DemoAgent agent = new DemoAgent("capture", instance.id(), service, service::readiness, http);
        try {
            service.start();
        } catch (RuntimeException e) {
            agent.close();
            throw e;
        }
        return agent;
    }

    static DemoAgent apply(MeshConfig mesh, InstanceConfig instance) {
        PrometheusMeterRegistry registry = AgentHttpServer.newRegistry();
        ApplyService service = new ApplyService(mesh, instance.id(), registry);
        AgentHttpServer http = new AgentHttpServer("127.0.0.1", instance.applyHttpPort(), registry, service::readiness);
        DemoAgent agent = new DemoAgent("apply", instance.id(), service, service::readiness, http);
        try {
            service.start();
        } catch (RuntimeException e) {
            agent.close();
            throw e;
        }
        return agent;
    }

    String name() {
        return role + " " + instance;
    }

    /** Null when ready, else why not. */
    String readiness() {
        try {
            return readiness.get();
        } catch (RuntimeException e) {
            return e.toString();
        }
    }

    @Override
    public void close() {
        try {
            service.close();
        } catch (Exception e) {
            System.err.println("demo: stopping " + name() + ": " + e);
        } finally {
            http.close();
        }
    }
}
