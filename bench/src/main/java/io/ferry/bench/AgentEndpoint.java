package io.ferry.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.OptionalDouble;

/** An agent's HTTP side: /readyz and the Prometheus text of /metrics. */
final class AgentEndpoint {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final int port;

    AgentEndpoint(int port) {
        this.port = port;
    }

    boolean ready() {
        try {
            return get("/readyz").statusCode() == 200;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    String readiness() {
        try {
            HttpResponse<String> response = get("/readyz");
            return response.statusCode() + " " + response.body().strip();
        } catch (IOException | RuntimeException e) {
            return "unreachable (" + e.getClass().getSimpleName() + ")";
        }
    }

    String metrics() {
        try {
            return get("/metrics").body();
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /** The sum of every sample of {@code metric} (any labels), if the agent exports it. */
    OptionalDouble metric(String metric) {
        double sum = 0;
        boolean found = false;
        for (String line : metrics().split("\n")) {
            if (line.startsWith(metric) && (line.length() > metric.length())
                    && (line.charAt(metric.length()) == '{' || line.charAt(metric.length()) == ' ')) {
                try {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                    found = true;
                } catch (NumberFormatException ignored) {
                    // a malformed sample: skip it
                }
            }
        }
        return found ? OptionalDouble.of(sum) : OptionalDouble.empty();
    }

    /** A Prometheus histogram as cumulative counts by upper bound ("le"), summed over its other labels. */
    java.util.TreeMap<Double, Double> histogram(String metric) {
        java.util.TreeMap<Double, Double> buckets = new java.util.TreeMap<>();
        String prefix = metric + "_bucket{";
        for (String line : metrics().split("\n")) {
            if (!line.startsWith(prefix)) {
                continue;
            }
            int le = line.indexOf("le=\"");
            int end = line.indexOf('"', le + 4);
            String bound = line.substring(le + 4, end);
            double upper = bound.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(bound);
            buckets.merge(upper, Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)), Double::sum);
        }
        return buckets;
    }

    private HttpResponse<String> get(String path) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(3)).GET().build();
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
