package io.ferry.topology;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What every agent serves operators: {@code /metrics} (Prometheus text), {@code /healthz} (the process
 * is alive) and {@code /readyz} (connected and caught up enough to serve; the body says why not).
 */
public final class AgentHttpServer implements AutoCloseable {

    private final HttpServer server;
    private final PrometheusMeterRegistry registry;

    /**
     * @param readiness null when ready, otherwise a short reason why not
     */
    public AgentHttpServer(String bindAddress, int port, PrometheusMeterRegistry registry, Supplier<String> readiness) {
        this.registry = registry;
        try {
            server = HttpServer.create(new InetSocketAddress(bindAddress, port), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve metrics on " + bindAddress + ":" + port
                    + " (" + e.getMessage() + "); choose another port in the mesh file's http section", e);
        }
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "ferry-http");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/metrics", exchange -> respond(exchange, 200,
                "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
        server.createContext("/healthz", exchange -> respond(exchange, 200, "text/plain", "ok\n"));
        server.createContext("/readyz", exchange -> {
            String notReady = readiness.get();
            respond(exchange, notReady == null ? 200 : 503, "text/plain", notReady == null ? "ready\n" : notReady + "\n");
        });
        server.start();
    }

    /** What a {@link #route} handler answers: status, content type and body. */
    public record Reply(int status, String contentType, String body) {
    }

    /** Also serves {@code path} (and the paths under it) with what {@code handler} answers for the request's URI. */
    public void route(String path, Function<URI, Reply> handler) {
        server.createContext(path, exchange -> {
            Reply reply;
            try {
                reply = handler.apply(exchange.getRequestURI());
            } catch (RuntimeException e) {
                reply = new Reply(500, "text/plain", "failed: " + e + "\n");
            }
            respond(exchange, reply.status(), reply.contentType(), reply.body());
        });
    }

    public static PrometheusMeterRegistry newRegistry() {
        return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    private static void respond(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
