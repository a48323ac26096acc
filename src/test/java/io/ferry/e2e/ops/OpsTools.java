package io.ferry.e2e.ops;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The repository's deployment files and the command-line tools that check them, at fixed places:
 * {@code .tools/bin/helm} and {@code .tools/node/node_modules} (installed by {@code bash .ci/tools.sh}),
 * {@code promtool} and {@code prometheus} (Debian's prometheus package, installed by {@code .ci/run}),
 * and {@code node}. A missing tool fails the test with the command that installs it: these checks are
 * part of the build and must not be skipped silently.
 */
final class OpsTools {

    static final String INSTALL_HINT = "run bash .ci/tools.sh (and apt-get install -y prometheus for promtool)";

    private static final Path REPO = findRepo();
    private static Path helmHome;

    private OpsTools() {
    }

    static Path repo() {
        return REPO;
    }

    static Path chart() {
        return REPO.resolve("helm/ferry");
    }

    static Path grafana() {
        return REPO.resolve("grafana");
    }

    static Path nodeTools() {
        Path dir = REPO.resolve(".tools/node");
        for (String module : List.of("typescript", "@grafana/schema", "kubernetes-models",
                "@kubernetes-models/prometheus-operator", "yaml")) {
            if (!Files.isDirectory(dir.resolve("node_modules").resolve(module))) {
                fail("npm package " + module + " is missing from .tools/node: " + INSTALL_HINT);
            }
        }
        return dir;
    }

    static String helm() {
        return tool(REPO.resolve(".tools/bin/helm"));
    }

    static String node() {
        return onPath("node");
    }

    static String promtool() {
        return onPath("promtool");
    }

    static String prometheus() {
        return onPath("prometheus");
    }

    /** Helm with its cache, config and data homes in a temporary directory, never the user's. */
    static Result helmRun(List<String> args, String stdin) {
        Path home;
        synchronized (OpsTools.class) {
            if (helmHome == null) {
                helmHome = tempDir("helm-home");
            }
            home = helmHome;
        }
        List<String> command = new ArrayList<>();
        command.add(helm());
        command.addAll(args);
        return run(command, stdin, REPO, Map.of(
                "HELM_CACHE_HOME", home.resolve("cache").toString(),
                "HELM_CONFIG_HOME", home.resolve("config").toString(),
                "HELM_DATA_HOME", home.resolve("data").toString()), Duration.ofSeconds(60));
    }

    static Result run(List<String> command, String stdin, Path workDir, Map<String, String> env, Duration timeout) {
        Path out = tempFile("out");
        Path err = tempFile("err");
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().putAll(env);
        try {
            Process process = builder.start();
            try (var in = process.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                fail(String.join(" ", command) + " did not finish within " + timeout);
            }
            return new Result(String.join(" ", command), process.exitValue(),
                    Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + command, e);
        } finally {
            out.toFile().delete();
            err.toFile().delete();
        }
    }

    static Object yaml(String text) {
        LoaderOptions options = new LoaderOptions();
        options.setCodePointLimit(64 * 1024 * 1024);
        return new Yaml(new SafeConstructor(options)).load(text);
    }

    /** Every document of a multi-document YAML stream, empty ones left out. */
    static List<Map<String, Object>> yamlDocuments(String text) {
        LoaderOptions options = new LoaderOptions();
        options.setCodePointLimit(64 * 1024 * 1024);
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object doc : new Yaml(new SafeConstructor(options)).loadAll(text)) {
            if (doc != null) {
                docs.add(map(doc));
            }
        }
        return docs;
    }

    static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object node) {
        return (Map<String, Object>) node;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object node) {
        return node == null ? List.of() : (List<Object>) node;
    }

    /** {@code at(obj, "spec", "template", "spec")}: walks maps by key and lists by index. */
    static Object at(Object node, Object... path) {
        Object current = node;
        for (Object step : path) {
            if (current == null) {
                return null;
            }
            current = step instanceof Integer i ? list(current).get(i) : map(current).get(step);
        }
        return current;
    }

    static Path tempDir(String prefix) {
        try {
            Path dir = Files.createTempDirectory("ferry-ops-" + prefix);
            dir.toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path tempFile(String prefix) {
        try {
            return Files.createTempFile("ferry-ops-" + prefix, ".txt");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String tool(Path path) {
        if (!Files.isExecutable(path)) {
            fail(REPO.relativize(path) + " is missing: " + INSTALL_HINT);
        }
        return path.toString();
    }

    private static String onPath(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path candidate = Path.of(dir).resolve(name);
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        return fail(name + " is not on the PATH: " + INSTALL_HINT);
    }

    private static Path findRepo() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            if (Files.isRegularFile(dir.resolve("helm/ferry/Chart.yaml")) && Files.isDirectory(dir.resolve("grafana"))) {
                return dir;
            }
            dir = dir.getParent();
        }
        throw new IllegalStateException("cannot find the repository root (helm/ferry/Chart.yaml) above " + Path.of("").toAbsolutePath());
    }

    /** What a finished command said. */
    record Result(String command, int exitCode, String stdout, String stderr) {

        Result assertSuccess() {
            if (exitCode != 0) {
                fail(command + " exited " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr);
            }
            return this;
        }

        String output() {
            return stdout + stderr;
        }
    }
}
