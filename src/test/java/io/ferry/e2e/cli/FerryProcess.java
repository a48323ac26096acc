package io.ferry.e2e.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * {@code ferry …} as an operator runs it: the repository's {@code ./ferry} script (which runs
 * cli/target/ferry.jar, plus demo/target/ferry-demo.jar for the demo) when the jars are built, else the same main class on this test's classpath.
 * Stdout is collected line by line so a test can wait for what the command prints; stderr goes to a file.
 */
final class FerryProcess implements AutoCloseable {

    private final Process process;
    private final List<String> lines = new ArrayList<>();
    private final Path stderr;
    private final Thread reader;

    private FerryProcess(Process process, Path stderr) {
        this.process = process;
        this.stderr = stderr;
        this.reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    synchronized (lines) {
                        lines.add(line);
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
        }, "ferry-stdout");
        reader.setDaemon(true);
        reader.start();
    }

    static FerryProcess start(Path workDir, String... args) {
        List<String> command = new ArrayList<>();
        Optional<Path> script = launcherScript(List.of(args).contains("demo"));
        if (script.isPresent()) {
            command.add(script.get().toString());
        } else {
            command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), "io.ferry.cli.FerryCli"));
        }
        command.addAll(List.of(args));
        try {
            Files.createDirectories(workDir);
            Path stderr = workDir.resolve("ferry.stderr");
            Process process = new ProcessBuilder(command).directory(workDir.toFile())
                    .redirectError(ProcessBuilder.Redirect.to(stderr.toFile())).start();
            return new FerryProcess(process, stderr);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    /** {@code ./ferry} at the repository root, if cli/target/ferry.jar (and for the demo, demo/target/ferry-demo.jar) is built. */
    static Optional<Path> launcherScript(boolean demo) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path script = dir.resolve("ferry");
            if (Files.isExecutable(script) && Files.isRegularFile(dir.resolve("cli/target/ferry.jar"))
                    && (!demo || Files.isRegularFile(dir.resolve("demo/target/ferry-demo.jar")))) {
                return Optional.of(script);
            }
        }
        return Optional.empty();
    }

    List<String> lines() {
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    String output() {
        return String.join("\n", lines());
    }

    String stderrTail() {
        try {
            List<String> all = Files.readAllLines(stderr);
            return String.join("\n", all.subList(Math.max(0, all.size() - 40), all.size()));
        } catch (IOException e) {
            return "(no stderr: " + e.getMessage() + ")";
        }
    }

    /** Waits until a printed line matches; fails with what was printed if the process ends or time runs out. */
    String awaitLine(Duration timeout, Predicate<String> matches) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<String> hit = lines().stream().filter(matches).findFirst();
            if (hit.isPresent()) {
                return hit.get();
            }
            if (!process.isAlive()) {
                throw new AssertionError("ferry exited with " + process.exitValue() + " before printing the expected line.\n"
                        + "stdout:\n" + output() + "\nstderr (tail):\n" + stderrTail());
            }
            Thread.sleep(100);
        }
        throw new AssertionError("timed out after " + timeout + " waiting for a line; stdout:\n" + output()
                + "\nstderr (tail):\n" + stderrTail());
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** SIGTERM, as Ctrl-C or Kubernetes would stop it; the exit code, or -1 if still running after {@code timeout}. */
    int terminate(Duration timeout) throws InterruptedException {
        // Process.destroy() would also close our end of its stdout and lose what it prints while stopping
        process.toHandle().destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return -1;
        }
        reader.join(10_000); // the last lines it printed
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive() && terminate(Duration.ofSeconds(60)) < 0) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
