package io.ferry.cli.demo;

import io.ferry.cli.ExitCode;
import io.ferry.cli.OperatorException;
import io.ferry.localmesh.LocalMesh;
import io.ferry.localmesh.RedisBinary;
import io.ferry.topology.InstanceConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ferry demo}: a whole mesh on this machine. One Kafka broker in this JVM, one redis-server
 * process per instance, every instance's capture and apply agent (in this JVM, each serving its own
 * /metrics), some sample traffic, and the keys shown converging. Runs until Ctrl-C (or --duration),
 * then stops everything it started and removes its directory.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        header = "Run a local mesh (Kafka + 3 Redis + agents) with sample traffic until Ctrl-C.",
        description = {"Start a local mesh and watch it replicate: an in-JVM Kafka broker, one redis-server per instance "
                + "(Debian's redis-server if installed, else the bundled 6.2 build), the capture and apply agents of every "
                + "instance; prints the redis-cli commands to connect and the metrics URLs, writes sample keys of several "
                + "types on each instance and shows them converging on all of them.",
                "Runs until Ctrl-C (or --duration), then stops everything it started and deletes its files."},
        footer = {"", "Examples:", "  ferry demo", "  ferry demo --instances 4 --no-traffic", "  ferry demo --duration 60",
                "  ferry demo --cluster"})
public final class DemoCommand implements Callable<Integer>, io.ferry.cli.AddOnCommand {

    @Spec
    CommandSpec spec;

    @Option(names = {"-n", "--instances"}, paramLabel = "N", defaultValue = "3", description = "Number of instances, named a, b, c, … (2-26, default ${DEFAULT-VALUE}).")
    int instances;

    @Option(names = "--cluster", description = "Make every instance a Redis Cluster of " + CLUSTER_MASTERS + " masters "
            + "(connect with redis-cli -c). Conflicts are settled as without it (lww), each repair on its key's slot.")
    boolean cluster;

    @Option(names = "--duration", paramLabel = "SECONDS", description = "Stop by itself after this many seconds (default: run until Ctrl-C).")
    Long durationSeconds;

    @Option(names = "--no-traffic", description = "Do not write the sample keys.")
    boolean noTraffic;

    @Option(names = "--no-agents", description = "Start only Kafka and the Redis servers; run 'ferry capture' and 'ferry apply' yourself with the mesh file it prints.")
    boolean noAgents;

    @Option(names = "--dir", paramLabel = "DIR", description = "Directory for the servers' files (default: a new temporary directory).")
    Path dir;

    @Option(names = "--keep", description = "Keep the directory (logs, mesh.yaml) after stopping.")
    boolean keep;

    @Option(names = "--redis-server", paramLabel = "PATH", description = "redis-server executable to run (default: redis-server on PATH, else the bundled 6.2).")
    Path redisServer;

    /** Masters per instance with --cluster: the smallest cluster redis-cli --cluster create accepts. */
    static final int CLUSTER_MASTERS = 3;

    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Deque<AutoCloseable> started = new ArrayDeque<>();

    @Override
    public Integer call() throws Exception {
        if (instances < 2 || instances > 26) {
            throw new OperatorException(ExitCode.BAD_CONFIG, "--instances must be 2..26, got " + instances);
        }
        PrintWriter out = spec.commandLine().getOut();
        Thread hook = new Thread(this::stopFromSignal, "ferry-demo-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        Path workDir = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("ferry-demo-");
        boolean converged = true;
        try {
            LocalMesh mesh = startServers(workDir, out);
            if (stopRequested.getCount() > 0) {
                printInstances(mesh, out);
            }
            if (stopRequested.getCount() > 0 && !noAgents) {
                startAgents(mesh, out);
            }
            if (stopRequested.getCount() > 0 && !noTraffic && !noAgents) {
                converged = showTraffic(mesh, out);
            }
            if (stopRequested.getCount() > 0) {
                printHints(mesh, workDir, out);
                if (durationSeconds == null) {
                    stopRequested.await();
                } else {
                    stopRequested.await(durationSeconds, TimeUnit.SECONDS);
                }
            }
        } finally {
            out.println("Stopping the demo: agents, Redis servers, Kafka" + (keep ? "" : "; removing " + workDir));
            out.flush();
            stopAll();
            if (!keep && dir == null) {
                deleteTree(workDir);
            }
            out.println("Stopped.");
            out.flush();
            stopped.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it waits for this cleanup
            }
        }
        return converged ? ExitCode.OK : ExitCode.FAILED;
    }

    private LocalMesh startServers(Path workDir, PrintWriter out) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < instances; i++) {
            ids.add(String.valueOf((char) ('a' + i)));
        }
        RedisBinary binary = redisServer != null ? new RedisBinary(redisServer, "given") : RedisBinary.preferred();
        out.println("Starting a local Ferry mesh of " + instances + " instances " + ids
                + (cluster ? ", each a Redis Cluster of " + CLUSTER_MASTERS + " masters," : "") + " in " + workDir);
        out.flush();
        long t0 = System.nanoTime();
        LocalMesh mesh = cluster ? LocalMesh.startClusters(workDir, ids, binary, null, "", CLUSTER_MASTERS)
                : LocalMesh.start(workDir, ids, binary, null, "");
        started.push(mesh);
        out.printf("  Kafka broker (in this JVM)  %s%n", mesh.kafka().bootstrap());
        out.printf("  redis-server                %s (%s, Redis %s)%n", binary.path(), binary.label(), mesh.redis(ids.get(0)).version());
        out.printf("  mesh file                   %s%n", mesh.configFile());
        out.printf("  servers up in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        out.flush();
        return mesh;
    }

    private void printInstances(LocalMesh mesh, PrintWriter out) {
        out.println();
        out.println("Instances (connect with redis-cli" + (cluster ? " -c, which follows the cluster's redirects" : "")
                + "; metrics in Prometheus text format):");
        for (InstanceConfig instance : mesh.config().instances().values()) {
            out.printf("  %-3s %s    capture http://127.0.0.1:%d/metrics    apply http://127.0.0.1:%d/metrics%n",
                    instance.id(), redisCli(instance.redis().port()), instance.captureHttpPort(), instance.applyHttpPort());
            if (cluster) {
                out.printf("      masters %s%n", mesh.cluster(instance.id()).nodes().stream()
                        .map(node -> String.valueOf(node.port())).collect(java.util.stream.Collectors.joining(" ")));
            }
        }
        out.println(noAgents ? "      (no agents started: run them yourself, see below)" : "      (each agent also serves /healthz and /readyz)");
        out.flush();
    }

    /** The redis-cli command line for an instance: with -c on a cluster, so redis-cli follows MOVED to the key's master. */
    private String redisCli(int port) {
        return (cluster ? "redis-cli -c -p " : "redis-cli -p ") + port;
    }

    private void startAgents(LocalMesh mesh, PrintWriter out) {
        long t0 = System.nanoTime();
        List<DemoAgent> agents = new ArrayList<>();
        for (InstanceConfig instance : mesh.config().instances().values()) {
            DemoAgent capture = DemoAgent.capture(mesh.config(), instance);
            started.push(capture);
            agents.add(capture);
        }
        for (InstanceConfig instance : mesh.config().instances().values()) {
            DemoAgent apply = DemoAgent.apply(mesh.config(), instance);
            started.push(apply);
            agents.add(apply);
        }
        Map<String, String> notReady = awaitReady(agents, Duration.ofSeconds(60));
        if (notReady.isEmpty()) {
            out.printf("Agents ready in %.1f s.%n", (System.nanoTime() - t0) / 1e9);
        } else {
            out.println("Some agents are not ready after 60 s (they keep trying):");
            notReady.forEach((name, why) -> out.println("  " + name + ": " + why));
        }
        out.flush();
    }

    private Map<String, String> awaitReady(List<DemoAgent> agents, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<String, String> notReady = new LinkedHashMap<>();
        while (stopRequested.getCount() > 0) {
            notReady.clear();
            for (DemoAgent agent : agents) {
                String why = agent.readiness();
                if (why != null) {
                    notReady.put(agent.name(), why);
                }
            }
            if (notReady.isEmpty() || System.nanoTime() > deadline) {
                break;
            }
            pause(100);
        }
        return notReady;
    }

    /** Writes the sample keys on every instance and prints them as each instance sees them once they agree. */
    private boolean showTraffic(LocalMesh mesh, PrintWriter out) {
        Map<String, InstanceClient> connections = new LinkedHashMap<>();
        try {
            for (String id : mesh.ids()) {
                int port = mesh.redis(id).port();
                connections.put(id, cluster ? InstanceClient.cluster(port) : InstanceClient.standalone(port));
            }
            out.println();
            out.println("Writing sample traffic, each instance its own keys" + (cluster ? " (spread over the shards by slot)" : "") + ":");
            List<byte[]> keys = new ArrayList<>();
            long t0 = System.nanoTime();
            for (Map.Entry<String, InstanceClient> entry : connections.entrySet()) {
                out.println("  on " + entry.getKey() + ": " + SampleTraffic.describe(entry.getKey(), cluster));
                keys.addAll(SampleTraffic.write(entry.getKey(), entry.getValue(), cluster));
            }
            out.flush();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            Map<String, Map<String, String>> views;
            boolean converged;
            do {
                views = new LinkedHashMap<>();
                converged = true;
                for (byte[] key : keys) {
                    Map<String, String> byInstance = new LinkedHashMap<>();
                    connections.forEach((id, c) -> byInstance.put(id, KeyspaceView.render(c.forKey(key), key)));
                    views.put(label(key), byInstance);
                    converged &= KeyspaceView.sameEverywhere(byInstance);
                }
                if (!converged) {
                    pause(100);
                }
            } while (!converged && System.nanoTime() < deadline && stopRequested.getCount() > 0);
            out.println();
            if (converged) {
                out.printf("Converged in %.1f s: every key is the same on %s:%n", (System.nanoTime() - t0) / 1e9, String.join(", ", mesh.ids()));
            } else {
                out.println("NOT converged after 60 s; each key as seen on each instance:");
            }
            views.forEach((key, byInstance) -> {
                if (KeyspaceView.sameEverywhere(byInstance)) {
                    out.printf("  %-22s %s%n", key, byInstance.values().iterator().next());
                } else {
                    out.printf("  %-22s differs:%n", key);
                    byInstance.forEach((id, view) -> out.printf("      on %s: %s%n", id, view));
                }
            });
            out.flush();
            return converged;
        } finally {
            connections.values().forEach(InstanceClient::close);
        }
    }

    /** A key as the demo prints it: quoted, and on a cluster with its slot (the same on every instance). */
    private String label(byte[] key) {
        String quoted = io.ferry.cli.inspect.ByteText.quote(key);
        return cluster ? quoted + " [slot " + io.ferry.resp.cluster.HashSlot.of(key) + "]" : quoted;
    }

    private void printHints(LocalMesh mesh, Path workDir, PrintWriter out) {
        List<String> ids = mesh.ids();
        int first = mesh.redis(ids.get(0)).port();
        int second = mesh.redis(ids.get(1)).port();
        Path config = mesh.configFile();
        out.println();
        out.println("Try it:");
        out.printf("  %s SET hello world      then   %s GET hello%n", redisCli(first), redisCli(second));
        if (noAgents) {
            for (String id : ids) {
                out.printf("  ./ferry capture -c %s -i %s      ./ferry apply -c %s -i %s%n", config, id, config, id);
            }
        }
        out.printf("  ./ferry status  -c %s%n", config);
        out.printf("  ./ferry inspect -c %s %s --follow%n", config, ids.get(0));
        out.println();
        out.println(durationSeconds == null ? "Running. Press Ctrl-C to stop (stops the agents, Redis and Kafka"
                + (keep || dir != null ? ")." : " and deletes " + workDir + ").")
                : "Running for " + durationSeconds + " s.");
        out.flush();
    }

    /**
     * SIGINT/SIGTERM: ask the main thread to stop and wait (bounded) until it has cleaned up; then exit
     * 0, since Ctrl-C is how the demo is meant to end (not 130/143).
     */
    private void stopFromSignal() {
        stopRequested.countDown();
        try {
            if (stopped.await(60, TimeUnit.SECONDS)) {
                Runtime.getRuntime().halt(ExitCode.OK);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void stopAll() {
        while (!started.isEmpty()) {
            AutoCloseable next = started.pop();
            try {
                next.close();
            } catch (Exception | Error e) {
                // best effort: whatever fails, the rest is still stopped and the directory removed
                System.err.println("demo: while stopping: " + e);
            }
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OperatorException(ExitCode.FAILED, "interrupted");
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + root, e);
        }
    }
}
