package io.ferry.localmesh;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A real single-node Kafka broker (KRaft, combined broker and controller) on loopback ports, either in
 * this JVM (starts in about two seconds) or as a child JVM (as deployed; can be killed and restarted
 * like a real broker). Settings are the ones a one-node cluster needs: replication factor 1 for the
 * internal topics, no rebalance delay, topics created only on purpose.
 */
public final class LocalKafka implements KafkaCluster {

    public enum Mode { IN_PROCESS, FORKED }

    private final Mode mode;
    private final Path dir;
    private final int brokerPort = FreePorts.next();
    private final int controllerPort = FreePorts.next();
    private final Path propertiesFile;
    /** Null: one PLAINTEXT listener, no authorizer (the demo and most tests). */
    private final BrokerSecurity security;
    /** A second listener whose advertised address is a proxy's (0: none); clients of that address stay behind the proxy. */
    private final int proxiedPort;
    private final int proxyAdvertisedPort;
    private KafkaRaftServer server;
    private Process process;

    private LocalKafka(Mode mode, Path dir, BrokerSecurity security, int proxyAdvertisedPort) {
        this.mode = mode;
        this.dir = dir;
        this.propertiesFile = dir.resolve("server.properties");
        this.security = security;
        this.proxyAdvertisedPort = proxyAdvertisedPort;
        this.proxiedPort = proxyAdvertisedPort == 0 ? 0 : FreePorts.next();
    }

    /** Formats a log directory under {@code dir} and starts the broker (PLAINTEXT, no ACLs). */
    public static LocalKafka start(Mode mode, Path dir) {
        return start(new LocalKafka(mode, dir, null, 0));
    }

    /** The same secured: SASL_SSL (SCRAM-SHA-512) and the standard authorizer; see {@link BrokerSecurity}. */
    public static LocalKafka startSecured(Mode mode, Path dir) {
        return start(new LocalKafka(mode, dir, BrokerSecurity.generate(dir.resolve("tls")), 0));
    }

    /**
     * The same with a second listener ({@link #proxiedListenerPort()}) that advertises
     * {@code 127.0.0.1:proxyAdvertisedPort}: a TCP proxy listening there and forwarding to that listener
     * keeps every connection of the clients bootstrapped through it behind the proxy, while
     * {@link #bootstrap()} stays direct.
     */
    public static LocalKafka start(Mode mode, Path dir, int proxyAdvertisedPort) {
        return start(new LocalKafka(mode, dir, null, proxyAdvertisedPort));
    }

    private static LocalKafka start(LocalKafka kafka) {
        kafka.format();
        kafka.start();
        return kafka;
    }

    /** The broker's security, if it was started secured. */
    public java.util.Optional<BrokerSecurity> security() {
        return java.util.Optional.ofNullable(security);
    }

    /** Client properties of the super user (bootstrap included); on a PLAINTEXT broker just the bootstrap. */
    public Properties adminProperties() {
        Properties props = new Properties();
        if (security != null) {
            props.putAll(security.clientProperties(BrokerSecurity.ADMIN, security.adminPassword()));
        }
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        return props;
    }

    /** Creates (or resets) the SCRAM credentials of {@code user} on a secured broker. */
    public void addUser(String user, String password) {
        if (security == null) {
            throw new IllegalStateException("a PLAINTEXT broker has no users");
        }
        try (Admin admin = Admin.create(adminProperties())) {
            admin.alterUserScramCredentials(List.of(new org.apache.kafka.clients.admin.UserScramCredentialUpsertion(user,
                    new org.apache.kafka.clients.admin.ScramCredentialInfo(org.apache.kafka.clients.admin.ScramMechanism.SCRAM_SHA_512, 8192),
                    password))).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot add Kafka user " + user, e);
        }
    }

    @Override
    public java.util.Map<String, String> meshProperties() {
        return security == null ? java.util.Map.of() : security.meshProperties();
    }

    private Properties brokerProperties() {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort
                + (proxiedPort == 0 ? "" : ",PROXIED://127.0.0.1:" + proxiedPort));
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort
                + (proxiedPort == 0 ? "" : ",PROXIED://127.0.0.1:" + proxyAdvertisedPort));
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
                + (proxiedPort == 0 ? "" : ",PROXIED:PLAINTEXT"));
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("num.partitions", "1");
        p.put("auto.create.topics.enable", "false");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "4");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "4");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("log.flush.interval.messages", String.valueOf(Long.MAX_VALUE));
        if (security != null) {
            security.configure(p, brokerPort, controllerPort);
        }
        return p;
    }

    private void format() {
        try {
            Files.createDirectories(dir.resolve("data"));
            try (Writer out = Files.newBufferedWriter(propertiesFile)) {
                brokerProperties().store(out, "Ferry local broker");
            }
            PrintStream quiet = new PrintStream(Files.newOutputStream(dir.resolve("format.log")));
            List<String> args = new ArrayList<>(List.of("format", "-t", Uuid.randomUuid().toString(),
                    "-c", propertiesFile.toString(), "--ignore-formatted"));
            if (security != null) {
                args.addAll(security.formatArgs());
            }
            int rc = StorageTool.execute(args.toArray(String[]::new), quiet);
            quiet.close();
            if (rc != 0) {
                throw new IllegalStateException("kafka storage format failed (" + rc + "); see " + dir.resolve("format.log"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare Kafka directory " + dir, e);
        }
    }

    @Override
    public synchronized void start() {
        if (server != null || (process != null && process.isAlive())) {
            return;
        }
        if (mode == Mode.IN_PROCESS) {
            server = new KafkaRaftServer(KafkaConfig.fromProps(brokerProperties(), false), Time.SYSTEM);
            server.startup();
        } else {
            // the parallel collector: the serial one stopped this broker for about 66 ms every few seconds
            // under a steady transactional load (its young survivors are large), which was most of the
            // benchmark's p99; the parallel one stops it for about 7 ms
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx512m", "-XX:+UseParallelGC", "-cp", System.getProperty("java.class.path"),
                    "kafka.Kafka", propertiesFile.toString()));
            try {
                process = new ProcessBuilder(command).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("broker.log").toFile())).start();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start the Kafka broker JVM", e);
            }
        }
        awaitReady(Duration.ofSeconds(60));
    }

    private void awaitReady(Duration timeout) {
        Properties props = adminProperties();
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        try (Admin admin = Admin.create(props)) {
            while (System.nanoTime() < deadline) {
                if (process != null && !process.isAlive()) {
                    throw new IllegalStateException("Kafka broker exited with " + process.exitValue() + "; see " + dir.resolve("broker.log"));
                }
                try {
                    if (!admin.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (Exception e) {
                    last = e;
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new IllegalStateException("Kafka broker at " + bootstrap() + " not ready after " + timeout, last);
    }

    @Override
    public String bootstrap() {
        return "127.0.0.1:" + brokerPort;
    }

    public Path dir() {
        return dir;
    }

    /** Port of the listener behind a proxy (see {@link #start(Mode, Path, int)}). */
    public int proxiedListenerPort() {
        if (proxiedPort == 0) {
            throw new IllegalStateException("this broker was started without a proxied listener");
        }
        return proxiedPort;
    }

    /** SIGKILL of the broker JVM (FORKED mode only): no controlled shutdown, like a crashed host; {@link #start()} restarts it on its log dir. */
    public synchronized void kill() {
        if (process == null) {
            throw new IllegalStateException("an in-process broker cannot be killed");
        }
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** PID of the broker JVM (FORKED mode only). */
    public long pid() {
        if (process == null) {
            throw new IllegalStateException("an in-process broker has no PID of its own");
        }
        return process.pid();
    }

    @Override
    public synchronized void stop() {
        if (server != null) {
            server.shutdown();
            server.awaitShutdown();
            server = null;
        }
        if (process != null) {
            process.destroy();
            try {
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process = null;
        }
    }
}
