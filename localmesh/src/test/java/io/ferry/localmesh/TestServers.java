package io.ferry.localmesh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The real servers tests run against. One Kafka broker per test JVM (a Testcontainers broker when a
 * Docker engine answers, otherwise an in-JVM KRaft broker), and redis-server processes on free
 * loopback ports. Everything started here is stopped by PID when the JVM exits, even if a test forgot.
 */
public final class TestServers {

    private static final List<AutoCloseable> STARTED = new ArrayList<>();
    private static KafkaCluster sharedKafka;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(TestServers::stopAll, "test-servers-cleanup"));
    }

    private TestServers() {
    }

    /** The JVM-wide broker; tests isolate themselves by using their own instance ids (topic names). */
    public static synchronized KafkaCluster kafka() {
        if (sharedKafka == null) {
            sharedKafka = dockerAvailable() ? new ContainerKafka() : LocalKafka.start(LocalKafka.Mode.IN_PROCESS, tempDir("kafka"));
            STARTED.add(sharedKafka);
        }
        return sharedKafka;
    }

    /** A broker of the test's own, in a child JVM, for tests that stop and restart Kafka. */
    public static synchronized LocalKafka ownKafka() {
        LocalKafka kafka = LocalKafka.start(LocalKafka.Mode.FORKED, tempDir("kafka-own"));
        STARTED.add(kafka);
        return kafka;
    }

    /** The same with a second listener advertising {@code 127.0.0.1:proxyAdvertisedPort} (see {@link LocalKafka#start(LocalKafka.Mode, Path, int)}). */
    public static synchronized LocalKafka ownKafkaBehindProxy(int proxyAdvertisedPort) {
        LocalKafka kafka = LocalKafka.start(LocalKafka.Mode.FORKED, tempDir("kafka-own"), proxyAdvertisedPort);
        STARTED.add(kafka);
        return kafka;
    }

    /** Debian's redis-server (7.0); fails with what to install when it is missing. */
    public static RedisBinary redis70() {
        return RedisBinary.system().orElseThrow(() -> new IllegalStateException(
                "redis-server is not installed: apt-get install -y redis-server (bash .ci/run does this)"));
    }

    public static RedisBinary redis62() {
        return RedisBinary.embedded62();
    }

    public static synchronized RedisServer redis(RedisBinary binary, String... extraArgs) {
        RedisServer server = RedisServer.start(binary, tempDir("redis"), extraArgs);
        STARTED.add(server);
        return server;
    }

    public static RedisServer redis(String... extraArgs) {
        return redis(redis70(), extraArgs);
    }

    /** A Redis Cluster of {@code masters} masters (Debian's 7.0), stopped when the test JVM exits. */
    public static synchronized RedisClusterServers redisCluster(int masters) {
        RedisClusterServers cluster = RedisClusterServers.start(redis70(), tempDir("redis-cluster"), masters);
        STARTED.add(cluster);
        return cluster;
    }

    public static Path tempDir(String prefix) {
        try {
            Path dir = Files.createTempDirectory("ferry-" + prefix + "-");
            if (!Boolean.getBoolean("ferry.test.keepDirs")) { // kept for a failure's logs: -Dferry.test.keepDirs=true
                STARTED.add(() -> deleteTree(dir));
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable e) {
            return false;
        }
    }

    private static synchronized void stopAll() {
        List<AutoCloseable> reversed = new ArrayList<>(STARTED);
        java.util.Collections.reverse(reversed);
        for (AutoCloseable closeable : reversed) {
            try {
                closeable.close();
            } catch (Exception e) {
                System.err.println("cleanup: " + e);
            }
        }
        STARTED.clear();
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** Kafka in a container, when the machine has a Docker engine. */
    private static final class ContainerKafka implements KafkaCluster {
        private final KafkaContainer container = new KafkaContainer("apache/kafka:4.1.0");

        ContainerKafka() {
            container.start();
        }

        @Override
        public String bootstrap() {
            return container.getBootstrapServers();
        }

        @Override
        public void start() {
            if (!container.isRunning()) {
                container.start();
            }
        }

        @Override
        public void stop() {
            container.stop();
        }
    }
}
