package io.ferry.topology;

import io.ferry.topology.conflict.ConflictPolicy;
import io.ferry.topology.conflict.ConflictRules;
import io.ferry.topology.conflict.KeyPattern;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Reads the mesh file (YAML), applies environment overrides and validates everything once, reporting
 * every problem at once.
 *
 * <p>Every scalar can be overridden by an environment variable named after its path: {@code FERRY_}
 * plus the path in upper case joined by {@code _}, with '-' in instance ids written as '_'. For
 * example {@code FERRY_KAFKA_BOOTSTRAP}, {@code FERRY_INSTANCES_EU_1_REDIS_URI},
 * {@code FERRY_INSTANCES_EU_1_REDIS_PASSWORD}. Secrets can also be referenced from the file with
 * {@code passwordEnv} or {@code passwordFile} (a mounted Kubernetes Secret) so they never sit in it.
 */
public final class MeshConfigLoader {

    private static final Set<String> TOP_KEYS = Set.of("mesh", "kafka", "instances", "capture", "apply", "conflicts");
    private static final Set<String> CONFLICT_KEYS = Set.of("match", "policy", "order");
    private static final Set<String> KAFKA_KEYS = Set.of("bootstrap", "properties", "retentionHours");
    /** Ten years: beyond that write -1 (no time limit). */
    private static final int MAX_RETENTION_HOURS = 87_600;
    private static final Set<String> INSTANCE_KEYS = Set.of("redis", "kafka", "http");
    private static final Set<String> REDIS_KEYS = Set.of("uri", "username", "password", "passwordEnv", "passwordFile", "cluster");
    private static final Set<String> HTTP_KEYS = Set.of("capturePort", "applyPort");
    private static final Set<String> CAPTURE_KEYS = Set.of("heartbeatMillis", "transactionMaxEvents",
            "transactionMaxMillis", "maxRecordBytes", "expiryToleranceMillis", "filterEvictions", "snapshotRdbVersion",
            "wipeGuardPercent", "backlogWarnSeconds");
    private static final Set<String> APPLY_KEYS = Set.of("maxBatchEvents", "retryBackoffMillis", "maxBackoffMillis",
            "republishGuardedKeys");

    private final String source;
    private final Map<String, String> env;
    private final List<String> problems = new ArrayList<>();

    private MeshConfigLoader(String source, Map<String, String> env) {
        this.source = source;
        this.env = env;
    }

    public static MeshConfig load(Path file) {
        return load(file, System.getenv());
    }

    public static MeshConfig load(Path file, Map<String, String> env) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), List.of("cannot read the file: " + e.getMessage()));
        }
        return parse(text, file.toString(), env);
    }

    public static MeshConfig parse(String yaml, String source, Map<String, String> env) {
        Object root;
        try {
            root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
        } catch (MarkedYAMLException e) {
            // Only where and what: SnakeYAML's message quotes the offending line, which may hold a password.
            Mark mark = e.getProblemMark();
            throw new ConfigException(source, List.of("not valid YAML" + (mark == null ? "" : " at line " + (mark.getLine() + 1)
                    + ", column " + (mark.getColumn() + 1)) + ": " + e.getProblem()));
        } catch (RuntimeException e) {
            throw new ConfigException(source, List.of("not valid YAML (" + e.getClass().getSimpleName() + ")"));
        }
        MeshConfigLoader loader = new MeshConfigLoader(source, env);
        MeshConfig config = loader.read(root == null ? Map.of() : root);
        if (!loader.problems.isEmpty()) {
            throw new ConfigException(source, loader.problems);
        }
        return config;
    }

    private MeshConfig read(Object root) {
        Map<String, Object> top = map(root, "");
        checkKeys(top, TOP_KEYS, "");
        String mesh = string(top, "mesh", "mesh", true);
        long retentionHours = retentionHours(top.get("kafka"), "kafka", KafkaEndpoint.DEFAULT_RETENTION_HOURS);
        KafkaEndpoint defaultKafka = kafka(top.get("kafka"), "kafka", false, retentionHours);

        Map<String, InstanceConfig> instances = new LinkedHashMap<>();
        Map<String, Object> declared = map(top.get("instances"), "instances");
        if (declared.isEmpty()) {
            problems.add("instances: declare at least two instances, for example 'instances: {a: {redis: {uri: redis://host:6379}}, b: ...}'");
        } else if (declared.size() < 2) {
            problems.add("instances: a mesh needs at least two instances, found " + declared.keySet());
        }
        int index = 0;
        for (Map.Entry<String, Object> entry : declared.entrySet()) {
            InstanceConfig instance = instance(String.valueOf(entry.getKey()), entry.getValue(), defaultKafka, retentionHours, index++);
            if (instance != null) {
                instances.put(instance.id(), instance);
            }
        }
        return new MeshConfig(mesh, instances, capture(top.get("capture")), apply(top.get("apply")),
                conflicts(top.get("conflicts"), instances.keySet()));
    }

    private InstanceConfig instance(String id, Object node, KafkaEndpoint defaultKafka, long retentionHours, int index) {
        String path = "instances." + id;
        if (!id.matches("[A-Za-z0-9][A-Za-z0-9_-]{0,62}")) {
            problems.add(path + ": instance id must be 1-63 letters, digits, '-' or '_' (it becomes a topic name)");
            return null;
        }
        Map<String, Object> body = map(node, path);
        checkKeys(body, INSTANCE_KEYS, path);
        RedisEndpoint redis = redis(body.get("redis"), path + ".redis");
        KafkaEndpoint kafka = body.containsKey("kafka") || env.containsKey(envName(path + ".kafka.bootstrap"))
                ? kafka(body.get("kafka"), path + ".kafka", true, retentionHours(body.get("kafka"), path + ".kafka", retentionHours))
                : defaultKafka;
        if (kafka == null && defaultKafka == null) {
            problems.add(path + ".kafka.bootstrap: no Kafka for this instance; set top-level 'kafka.bootstrap' or this one");
        }
        Map<String, Object> http = map(body.get("http"), path + ".http");
        checkKeys(http, HTTP_KEYS, path + ".http");
        int capturePort = integer(http, "capturePort", path + ".http.capturePort", 9400 + 2 * index, 0, 65535);
        int applyPort = integer(http, "applyPort", path + ".http.applyPort", 9401 + 2 * index, 0, 65535);
        return redis == null ? null : new InstanceConfig(id, redis, kafka, capturePort, applyPort);
    }

    private RedisEndpoint redis(Object node, String path) {
        Map<String, Object> body = node instanceof String uri ? Map.of("uri", uri) : map(node, path);
        checkKeys(body, REDIS_KEYS, path);
        String uriText = string(body, "uri", path + ".uri", true);
        if (uriText == null) {
            return null;
        }
        URI uri;
        try {
            uri = URI.create(uriText);
        } catch (IllegalArgumentException e) {
            problems.add(path + ".uri: '" + withoutUserInfo(uriText) + "' is not a URI; write redis://host:port or rediss://host:port for TLS");
            return null;
        }
        if (!"redis".equals(uri.getScheme()) && !"rediss".equals(uri.getScheme()) || uri.getHost() == null) {
            problems.add(path + ".uri: '" + uri.getScheme() + "://" + uri.getHost()
                    + "…' must be redis://host:port or rediss://host:port (TLS)");
            return null;
        }
        if (uri.getUserInfo() != null && uri.getUserInfo().contains(":")) {
            problems.add(path + ".uri: do not put the password in the URI; use passwordEnv, passwordFile or "
                    + envName(path + ".password"));
            return null;
        }
        String username = string(body, "username", path + ".username", false);
        if (username == null && uri.getUserInfo() != null && !uri.getUserInfo().isEmpty()) {
            username = uri.getUserInfo();
        }
        return new RedisEndpoint(uri.getHost(), uri.getPort() > 0 ? uri.getPort() : 6379,
                "rediss".equals(uri.getScheme()), username, password(body, path), bool(body, "cluster", path + ".cluster", false));
    }

    /** {@code text} with anything between {@code //} and the last {@code @} (user and password) masked. */
    static String withoutUserInfo(String text) {
        int start = text.indexOf("//");
        int at = text.lastIndexOf('@');
        return start >= 0 && at > start ? text.substring(0, start + 2) + "***" + text.substring(at) : text;
    }

    private String password(Map<String, Object> body, String path) {
        String direct = string(body, "password", path + ".password", false);
        if (direct != null) {
            return direct;
        }
        String fromEnv = string(body, "passwordEnv", path + ".passwordEnv", false);
        if (fromEnv != null) {
            String value = env.get(fromEnv);
            if (value == null) {
                problems.add(path + ".passwordEnv: environment variable " + fromEnv + " is not set");
            }
            return value;
        }
        String file = string(body, "passwordFile", path + ".passwordFile", false);
        if (file != null) {
            try {
                return Files.readString(Path.of(file), StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                problems.add(path + ".passwordFile: cannot read " + file + " (" + e.getClass().getSimpleName() + ")");
            }
        }
        return null;
    }

    private KafkaEndpoint kafka(Object node, String path, boolean required, long retentionHours) {
        Map<String, Object> body = map(node, path);
        checkKeys(body, KAFKA_KEYS, path);
        String bootstrap = string(body, "bootstrap", path + ".bootstrap", required);
        Map<String, String> props = new LinkedHashMap<>();
        map(body.get("properties"), path + ".properties").forEach((k, v) -> props.put(k, String.valueOf(v)));
        return bootstrap == null ? null : new KafkaEndpoint(bootstrap, props, retentionHours);
    }

    /**
     * {@code retentionHours} of a kafka section (or its environment override); {@code inherited} when it has
     * none: the default for the top-level section, the top-level value for an instance's own section.
     */
    private long retentionHours(Object node, String path, long inherited) {
        Map<String, Object> body = node instanceof Map<?, ?> ? map(node, path) : Map.of();
        int hours = integer(body, "retentionHours", path + ".retentionHours", (int) inherited, -1, MAX_RETENTION_HOURS);
        if (hours == 0) {
            problems.add(path + ".retentionHours: 0 would delete every change at once; give hours (default "
                    + KafkaEndpoint.DEFAULT_RETENTION_HOURS + ") or -1 for no time limit");
            return inherited;
        }
        return hours;
    }

    private CaptureSettings capture(Object node) {
        Map<String, Object> body = map(node, "capture");
        checkKeys(body, CAPTURE_KEYS, "capture");
        CaptureSettings d = CaptureSettings.defaults();
        return new CaptureSettings(
                integer(body, "heartbeatMillis", "capture.heartbeatMillis", d.heartbeatMillis(), 10, 1000),
                integer(body, "transactionMaxEvents", "capture.transactionMaxEvents", d.transactionMaxEvents(), 1, 1_000_000),
                integer(body, "transactionMaxMillis", "capture.transactionMaxMillis", d.transactionMaxMillis(), 1, 60_000),
                integer(body, "maxRecordBytes", "capture.maxRecordBytes", d.maxRecordBytes(), 16 * 1024, 64 * 1024 * 1024),
                integer(body, "expiryToleranceMillis", "capture.expiryToleranceMillis", d.expiryToleranceMillis(), 0, 60_000),
                bool(body, "filterEvictions", "capture.filterEvictions", d.filterEvictions()),
                integer(body, "snapshotRdbVersion", "capture.snapshotRdbVersion", d.snapshotRdbVersion(), 0, 12),
                integer(body, "wipeGuardPercent", "capture.wipeGuardPercent", d.wipeGuardPercent(), 0, 100),
                integer(body, "backlogWarnSeconds", "capture.backlogWarnSeconds", d.backlogWarnSeconds(), 0, 86_400));
    }

    private ApplySettings apply(Object node) {
        Map<String, Object> body = map(node, "apply");
        checkKeys(body, APPLY_KEYS, "apply");
        ApplySettings d = ApplySettings.defaults();
        return new ApplySettings(
                integer(body, "maxBatchEvents", "apply.maxBatchEvents", d.maxBatchEvents(), 1, 100_000),
                integer(body, "retryBackoffMillis", "apply.retryBackoffMillis", d.retryBackoffMillis(), 1, 60_000),
                integer(body, "maxBackoffMillis", "apply.maxBackoffMillis", d.maxBackoffMillis(), 1, 600_000),
                bool(body, "republishGuardedKeys", "apply.republishGuardedKeys", d.republishGuardedKeys()));
    }

    /**
     * {@code conflicts:} a list of {@code {match: GLOB, policy: lww|priority|report, order: [ids]}}, first
     * match wins; {@code order} is required with {@code priority} and names instances of the mesh.
     */
    private ConflictRules conflicts(Object node, Set<String> instanceIds) {
        if (node == null) {
            return ConflictRules.DEFAULT;
        }
        if (!(node instanceof List<?> list)) {
            problems.add("conflicts: expected a list of {match, policy, order} entries, for example "
                    + "'conflicts: [{match: \"session:*\", policy: priority, order: [eu-1, us-1]}]'");
            return ConflictRules.DEFAULT;
        }
        List<ConflictRules.Rule> rules = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String path = "conflicts[" + i + "]";
            Map<String, Object> body = map(list.get(i), path);
            checkKeys(body, CONFLICT_KEYS, path);
            String match = listEntry(body, "match", path);
            String policy = listEntry(body, "policy", path);
            List<String> order = new ArrayList<>();
            Object orderNode = body.get("order");
            if (orderNode instanceof List<?> ids) {
                ids.forEach(id -> order.add(String.valueOf(id)));
            } else if (orderNode != null) {
                problems.add(path + ".order: expected a list of instance ids, found '" + orderNode + "'");
            }
            for (String id : order) {
                if (!instanceIds.contains(id)) {
                    problems.add(path + ".order: '" + id + "' is not an instance of this mesh " + instanceIds);
                }
            }
            if (match == null || policy == null) {
                continue;
            }
            ConflictPolicy parsed = switch (policy.trim().toLowerCase(Locale.ROOT)) {
                case "lww" -> ConflictPolicy.LWW;
                case "report" -> ConflictPolicy.REPORT;
                case "priority" -> {
                    if (order.isEmpty()) {
                        problems.add(path + ".order: policy priority needs the instances in order of precedence, e.g. [eu-1, us-1]");
                    }
                    yield ConflictPolicy.priority(order);
                }
                default -> {
                    problems.add(path + ".policy: '" + policy + "' is not one of lww, priority, report");
                    yield null;
                }
            };
            if (parsed != null) {
                if (parsed.kind() != ConflictPolicy.Kind.PRIORITY && !order.isEmpty()) {
                    problems.add(path + ".order: only policy priority takes an order");
                }
                rules.add(new ConflictRules.Rule(new KeyPattern(match), parsed));
            }
        }
        return new ConflictRules(rules);
    }

    /** A required scalar of a list entry (no environment override: list entries have no stable path). */
    private String listEntry(Map<String, Object> body, String key, String path) {
        Object value = body.get(key);
        if (value == null || value instanceof Map || value instanceof List || value.toString().isBlank()) {
            problems.add(path + "." + key + ": missing; give it a single value in the file");
            return null;
        }
        return value.toString();
    }

    // ---- scalar access with environment overrides -------------------------------------------------

    static String envName(String path) {
        return "FERRY_" + path.replace('.', '_').replace('-', '_').toUpperCase(Locale.ROOT);
    }

    private String string(Map<String, Object> body, String key, String path, boolean required) {
        String override = env.get(envName(path));
        Object value = override != null ? override : body.get(key);
        if (value == null || value.toString().isBlank()) {
            if (required) {
                problems.add(path + ": missing; set it in the file or with " + envName(path));
            }
            return null;
        }
        if (value instanceof Map || value instanceof List) {
            problems.add(path + ": expected a single value, found " + (value instanceof Map ? "a map" : "a list"));
            return null;
        }
        return value.toString();
    }

    private int integer(Map<String, Object> body, String key, String path, int fallback, int min, int max) {
        String text = string(body, key, path, false);
        if (text == null) {
            return fallback;
        }
        try {
            int value = Integer.parseInt(text.trim());
            if (value < min || value > max) {
                problems.add(path + ": " + value + " is out of range; use " + min + ".." + max);
                return fallback;
            }
            return value;
        } catch (NumberFormatException e) {
            problems.add(path + ": '" + text + "' is not a whole number");
            return fallback;
        }
    }

    private boolean bool(Map<String, Object> body, String key, String path, boolean fallback) {
        String text = string(body, key, path, false);
        if (text == null) {
            return fallback;
        }
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> {
                problems.add(path + ": '" + text + "' is not true or false");
                yield fallback;
            }
        };
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> map(Object node, String path) {
        if (node == null) {
            return Map.of();
        }
        if (node instanceof Map<?, ?> m) {
            Map<String, Object> copy = new LinkedHashMap<>();
            ((Map<Object, Object>) m).forEach((k, v) -> copy.put(String.valueOf(k), v));
            return copy;
        }
        problems.add((path.isEmpty() ? "top level" : path) + ": expected a map of keys, found '" + node + "'");
        return Map.of();
    }

    private void checkKeys(Map<String, Object> body, Set<String> known, String path) {
        for (String key : body.keySet()) {
            if (!known.contains(key)) {
                problems.add((path.isEmpty() ? "" : path + ".") + key + ": unknown key; known keys here are "
                        + known.stream().sorted().toList());
            }
        }
    }
}
