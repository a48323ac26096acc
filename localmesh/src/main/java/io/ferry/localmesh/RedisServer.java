package io.ferry.localmesh;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real redis-server process on a loopback port, owned by this JVM and stopped by PID. Persistence is
 * off unless asked for; diskless sync starts at once.
 */
public final class RedisServer implements AutoCloseable {

    private final RedisBinary binary;
    private final int port;
    private final Path dir;
    private final List<String> extraArgs;
    private Process process;
    private String version;

    private RedisServer(RedisBinary binary, int port, Path dir, List<String> extraArgs) {
        this.binary = binary;
        this.port = port;
        this.dir = dir;
        this.extraArgs = List.copyOf(extraArgs);
    }

    /** Starts a server on a free port; {@code extraArgs} are redis-server options such as "--requirepass", "x". */
    public static RedisServer start(RedisBinary binary, Path dir, String... extraArgs) {
        return start(binary, FreePorts.next(), dir, extraArgs);
    }

    /** Starts a server on {@code port}, which the caller found free. */
    public static RedisServer start(RedisBinary binary, int port, Path dir, String... extraArgs) {
        RedisServer server = new RedisServer(binary, port, dir, List.of(extraArgs));
        server.start();
        return server;
    }

    /** Starts (or restarts) the process on the same port and directory. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            return;
        }
        try {
            Files.createDirectories(dir);
            List<String> command = new ArrayList<>(List.of(binary.path().toString(),
                    "--port", String.valueOf(port), "--bind", "127.0.0.1", "--dir", dir.toString(),
                    "--save", "", "--appendonly", "no", "--daemonize", "no",
                    "--repl-diskless-sync-delay", "0", "--logfile", dir.resolve("redis.log").toString()));
            command.addAll(extraArgs);
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("redis.out").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + binary.path(), e);
        }
        try {
            awaitPing(Duration.ofSeconds(20));
        } catch (RuntimeException e) {
            kill(); // nobody else holds this process yet: never leave it running
            throw e;
        }
    }

    private void awaitPing(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        RuntimeException last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("redis-server on port " + port + " exited with " + process.exitValue()
                        + "; see " + dir.resolve("redis.log") + " and " + dir.resolve("redis.out"));
            }
            RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", port));
            try (StatefulRedisConnection<String, String> c = client.connect()) {
                c.sync().ping();
                String info = c.sync().info("server");
                String pid = infoField(info, "process_id");
                if (!Long.toString(process.pid()).equals(pid)) {
                    // another server holds the port: this one will exit, and must not be taken for it
                    throw new PortTaken("port " + port + " is served by another redis-server (pid " + pid
                            + "), not the one started (pid " + process.pid() + ")");
                }
                version = infoField(info, "redis_version");
                return;
            } catch (PortTaken e) {
                throw e;
            } catch (RuntimeException e) {
                last = e;
                sleep(50);
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }
        }
        throw new IllegalStateException("redis-server on port " + port + " did not answer PING", last);
    }

    private static final class PortTaken extends IllegalStateException {
        PortTaken(String message) {
            super(message);
        }
    }

    private static String infoField(String info, String name) {
        return info.lines().filter(l -> l.startsWith(name + ":")).findFirst()
                .map(l -> l.substring(name.length() + 1).trim()).orElse("?");
    }

    public int port() {
        return port;
    }

    public String version() {
        return version;
    }

    public RedisBinary binary() {
        return binary;
    }

    public Path dir() {
        return dir;
    }

    public long pid() {
        return process.pid();
    }

    public String uri() {
        return "redis://127.0.0.1:" + port;
    }

    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Stops the process by PID (SIGTERM, then SIGKILL after 5 s). */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Kills the process at once (SIGKILL): no shutdown save, like a crashed host. */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop();
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
