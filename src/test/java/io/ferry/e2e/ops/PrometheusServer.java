package io.ferry.e2e.ops;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A real Prometheus server (Debian's {@code prometheus} package, 2.42) on a free loopback port, scraping
 * Ferry agents the way the Helm chart's ServiceMonitor does, for tests that run the dashboard's and the
 * alert rules' queries against real data.
 *
 * <p>Each {@link Target} is one agent's {@code host:port}, labelled like in a cluster: {@code mesh},
 * {@code role} (capture|apply) and {@code instance} = the Ferry instance id, with
 * {@code honor_labels: true} so the agents' own {@code instance} label stands (grafana/README.md,
 * "Scrape labels"). Scrapes and rule evaluations run every second; grafana/alerts/ferry-rules.yaml is
 * loaded, so {@link #rules()} shows whether each rule evaluates cleanly.
 *
 * <p>Use against a running mesh (for example io.ferry.e2e.mesh.MeshUnderTest, whose agents serve on
 * {@code instance(name).captureHttpPort()} / {@code applyHttpPort()}):
 * <pre>{@code
 * try (PrometheusServer prometheus = PrometheusServer.start("demo", List.of(
 *         new PrometheusServer.Target("127.0.0.1:" + capturePortOfA, "capture", "a"),
 *         new PrometheusServer.Target("127.0.0.1:" + applyPortOfA, "apply", "a"), ...))) {
 *     prometheus.awaitTargetsUp(Duration.ofSeconds(30));
 *     prometheus.awaitData(Duration.ofSeconds(30), PrometheusServer.dashboardQueries("demo"));
 *     prometheus.awaitData(Duration.ofSeconds(30), PrometheusServer.ruleSelectors());
 * }
 * }</pre>
 * {@link PrometheusQueriesTest} does exactly that against agents' real meter classes served by
 * {@code AgentHttpServer}; pointing the same check at a real mesh only needs the targets changed.
 *
 * <p>The server is a child process stopped by its PID in {@link #close()} (and by a shutdown hook if a
 * test forgets); its data lives in a temporary directory that is removed.
 */
public final class PrometheusServer implements AutoCloseable {

    /** One agent to scrape. */
    public record Target(String address, String role, String instance) {
    }

    private final Process process;
    private final Path dir;
    private final int port;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Thread cleanup;

    private PrometheusServer(Process process, Path dir, int port) {
        this.process = process;
        this.dir = dir;
        this.port = port;
        this.cleanup = new Thread(this::stop, "prometheus-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
    }

    /** Starts Prometheus scraping {@code targets} of mesh {@code mesh} every second, with the Ferry alert rules loaded. */
    public static PrometheusServer start(String mesh, List<Target> targets) {
        Path dir = OpsTools.tempDir("prometheus");
        int port = FreePorts.next();
        StringBuilder config = new StringBuilder()
                .append("global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n")
                .append("rule_files: ['").append(OpsTools.grafana().resolve("alerts/ferry-rules.yaml")).append("']\n")
                .append("scrape_configs:\n")
                .append("  - job_name: ferry\n")
                .append("    honor_labels: true\n")
                .append("    static_configs:\n");
        for (Target target : targets) {
            config.append("      - targets: ['").append(target.address()).append("']\n")
                    .append("        labels: {mesh: '").append(mesh).append("', role: '").append(target.role())
                    .append("', instance: '").append(target.instance()).append("'}\n");
        }
        try {
            Files.writeString(dir.resolve("prometheus.yml"), config);
            Process process = new ProcessBuilder(OpsTools.prometheus(),
                    "--config.file=" + dir.resolve("prometheus.yml"),
                    "--storage.tsdb.path=" + dir.resolve("data"),
                    "--web.listen-address=127.0.0.1:" + port,
                    "--log.level=warn")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
            PrometheusServer server = new PrometheusServer(process, dir, port);
            try {
                Await.until(Duration.ofSeconds(30), "Prometheus ready on port " + port + " (log: " + dir.resolve("prometheus.log") + ")",
                        () -> process.isAlive() && server.get("/-/ready").statusCode() == 200);
            } catch (AssertionError e) {
                String log = server.log();
                server.close();
                throw new AssertionError(e.getMessage() + "\n" + log, e);
            }
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start prometheus", e);
        }
    }

    public int port() {
        return port;
    }

    public long pid() {
        return process.pid();
    }

    /** Every panel query of grafana/dashboards/ferry.json as Grafana sends it for mesh {@code mesh} and all instances. */
    public static List<String> dashboardQueries(String mesh) {
        List<String> queries = new ArrayList<>();
        for (String expr : DashboardTest.panelQueries()) {
            queries.add(asGrafanaSends(expr, mesh));
        }
        return queries;
    }

    /** Every vector selector of the alert rules (e.g. {@code up{role="capture"}}): each should return data from a healthy mesh. */
    public static List<String> ruleSelectors() {
        List<String> selectors = new ArrayList<>();
        DashboardTest.ruleQueries().forEach(expr -> selectors.addAll(PromQl.selectors(expr)));
        return selectors;
    }

    /** A dashboard expression with Grafana's variables filled in: the mesh, All instances, short windows for second-scale data. */
    public static String asGrafanaSends(String expr, String mesh) {
        return expr.replace("$mesh", mesh).replace("$instance", ".+")
                .replace("$__rate_interval", "5s").replace("$__range", "1m");
    }

    /** Waits until Prometheus has scraped every target successfully at least once. */
    public void awaitTargetsUp(Duration timeout) {
        Await.until(timeout, "every target up in " + base() + "/targets", () -> {
            List<Object> active = OpsTools.list(OpsTools.at(api("/api/v1/targets"), "data", "activeTargets"));
            return !active.isEmpty() && active.stream().allMatch(t -> "up".equals(OpsTools.map(t).get("health")));
        });
    }

    /** The result of an instant query: a list of {metric: {labels}, value: [time, "value"]}; empty when nothing matched. */
    public List<Object> query(String promQl) {
        Map<String, Object> response = api("/api/v1/query?query=" + URLEncoder.encode(promQl, StandardCharsets.UTF_8));
        if (!"success".equals(response.get("status"))) {
            throw new AssertionError("Prometheus refused " + promQl + ": " + response.get("error"));
        }
        Object result = OpsTools.at(response, "data", "result");
        return result instanceof List<?> ? OpsTools.list(result) : List.of(result);
    }

    /** Polls until every query returns data; the failure lists the queries that still return nothing. */
    public void awaitData(Duration timeout, List<String> queries) {
        List<String> empty = new ArrayList<>(queries);
        try {
            Await.until(timeout, "data for every query", () -> {
                empty.removeIf(q -> !query(q).isEmpty());
                return empty.isEmpty();
            });
        } catch (AssertionError e) {
            throw new AssertionError("queries that returned no data after " + timeout + ":\n  " + String.join("\n  ", empty), e);
        }
    }

    /** Every loaded rule: name, health ("ok", "err", "unknown"), lastError, lastEvaluation. */
    public List<Map<String, Object>> rules() {
        List<Map<String, Object>> rules = new ArrayList<>();
        for (Object group : OpsTools.list(OpsTools.at(api("/api/v1/rules"), "data", "groups"))) {
            for (Object rule : OpsTools.list(OpsTools.map(group).get("rules"))) {
                rules.add(OpsTools.map(rule));
            }
        }
        return rules;
    }

    public String log() {
        try {
            return Files.readString(dir.resolve("prometheus.log"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        stop();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException alreadyShuttingDown) {
            // the hook is running or has run
        }
    }

    private void stop() {
        ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroy);
        try {
            if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException | UncheckedIOException ignored) {
            // best effort: a temporary directory
        }
    }

    private String base() {
        return "http://127.0.0.1:" + port;
    }

    private HttpResponse<String> get(String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private Map<String, Object> api(String path) {
        HttpResponse<String> response = get(path);
        Object body = OpsTools.yaml(response.body());
        if (!(body instanceof Map<?, ?>)) {
            throw new AssertionError("Prometheus answered " + response.statusCode() + " to " + path + ": " + response.body());
        }
        return OpsTools.map(body);
    }
}
