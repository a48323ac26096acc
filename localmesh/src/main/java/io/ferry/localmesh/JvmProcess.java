package io.ferry.localmesh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Ferry agent (or any main class) in a child JVM with this JVM's classpath, as it runs when
 * deployed: tests kill -9 it and start it again; the demo and the benchmark run agents this way.
 */
public final class JvmProcess implements AutoCloseable {

    private final String name;
    private final Path logFile;
    private final Process process;

    private JvmProcess(String name, Path logFile, Process process) {
        this.name = name;
        this.logFile = logFile;
        this.process = process;
    }

    /** Starts {@code mainClass} with {@code args}; stdout and stderr are appended to {@code logFile}. */
    public static JvmProcess start(String name, Path logFile, Class<?> mainClass, List<String> jvmArgs, String... args) {
        return start(name, logFile, mainClass, jvmArgs, java.util.Map.of(), args);
    }

    /** The same with {@code env} added to the child's environment (for example a Kafka login, as a pod gets it). */
    public static JvmProcess start(String name, Path logFile, Class<?> mainClass, List<String> jvmArgs,
                                   java.util.Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ClassDataSharing.jvmArgs(args.length > 0 ? args[0] : mainClass.getSimpleName()));
        command.addAll(jvmArgs);
        command.add("-cp");
        command.add(ClassDataSharing.classpath());
        command.add(mainClass.getName());
        command.addAll(List.of(args));
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            builder.environment().putAll(env);
            return new JvmProcess(name, logFile, builder.start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name, e);
        }
    }

    public String name() {
        return name;
    }

    /** The last {@code lines} lines of its log, for a failure message. */
    public String logTail(int lines) {
        try {
            List<String> all = java.nio.file.Files.readAllLines(logFile);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(log " + logFile + " unreadable: " + e + ")";
        }
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL: no shutdown hook runs, like a crashed pod. */
    public void kill() {
        process.destroyForcibly();
        waitFor(Duration.ofSeconds(10));
    }

    /** SIGTERM, then SIGKILL if it has not exited within 30 s; returns the exit code. */
    public int stop() {
        process.destroy();
        int code = waitFor(Duration.ofSeconds(30));
        if (code < 0) {
            kill();
            return waitFor(Duration.ofSeconds(5));
        }
        return code;
    }

    /** Waits for the process to exit; its exit code, or -1 if still running after {@code timeout}. */
    public int waitFor(Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /**
     * Stops them all as {@link #close()} does, but at once: every one gets its SIGTERM before the first is waited for,
     * so their shutdowns (seconds each on a busy machine) overlap instead of adding up.
     */
    public static void closeAll(java.util.Collection<JvmProcess> processes) {
        List<JvmProcess> alive = processes.stream().filter(JvmProcess::isAlive).toList();
        alive.forEach(p -> p.process.destroy());
        for (JvmProcess p : alive) {
            if (p.waitFor(Duration.ofSeconds(30)) < 0) { // as stop(): SIGKILL after 30 s
                p.kill();
            }
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            stop();
        }
    }
}
