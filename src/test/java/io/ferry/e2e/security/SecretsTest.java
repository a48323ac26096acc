package io.ferry.e2e.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.cli.FerryCli;
import io.ferry.localmesh.Await;
import io.ferry.localmesh.FreePorts;
import io.ferry.localmesh.JvmProcess;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, item 3: secrets planted in every configurable place (the Redis password, Kafka's
 * sasl.jaas.config, SSL store and key passwords) appear in no output of the failure paths this test
 * can trigger: exit messages, logs, /healthz, /readyz, /metrics, {@code ferry status}, {@code ferry inspect}.
 */
class SecretsTest {

    private static final String REDIS_PW = "PLANTED-redis-pw-7f3a";
    private static final String JAAS_PW = "PLANTED-jaas-pw-91c2";
    private static final String SSL_PW = "PLANTED-ssl-pw-44d0";
    private static final List<String> SECRETS = List.of(REDIS_PW, JAAS_PW, SSL_PW);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final List<String> outputs = new ArrayList<>();

    @Test
    void noPlantedSecretAppearsInAnyOutputOfTheFailurePaths() throws Exception {
        Path dir = TestServers.tempDir("secrets");
        RedisServer redis = TestServers.redis(TestServers.redis70());
        RedisClient admin = RedisClient.create(RedisURI.create("127.0.0.1", redis.port()));
        try (StatefulRedisConnection<String, String> connection = admin.connect()) {
            connection.sync().configSet("requirepass", "the-real-one-" + REDIS_PW.hashCode());
        } finally {
            admin.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
        String kafka = TestServers.kafka().bootstrap();
        String jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\\\"ferry\\\" password=\\\"" + JAAS_PW + "\\\";";
        String secureKafka = "kafka: {bootstrap: \"" + kafka + "\", properties: {security.protocol: SASL_SSL, sasl.mechanism: SCRAM-SHA-512, "
                + "sasl.jaas.config: \"" + jaas + "\", ssl.truststore.location: /nonexistent/truststore.jks, "
                + "ssl.truststore.password: \"" + SSL_PW + "\", ssl.keystore.password: \"" + SSL_PW + "\", ssl.key.password: \"" + SSL_PW + "\"}}\n";
        String plainKafka = "kafka: {bootstrap: \"" + kafka + "\", properties: {sasl.jaas.config: \"" + jaas + "\", ssl.key.password: \"" + SSL_PW + "\"}}\n";

        // Wrong Redis password: capture and apply stop with 6, status reports the instance down.
        Path wrongPassword = file(dir, "wrong-password.yaml", mesh(redis.port(), ", password: \"" + REDIS_PW + "\"", plainKafka));
        assertEquals(6, ferry("capture", "--config", wrongPassword.toString(), "--instance", "a"));
        assertEquals(6, ferry("apply", "--config", wrongPassword.toString(), "--instance", "a"));
        ferry("status", "--config", wrongPassword.toString());
        // Kafka with SASL_SSL and a missing trust store: the Kafka check fails.
        Path secured = file(dir, "secured.yaml", mesh(redis.port(), "", secureKafka).replace(
                "redis://127.0.0.1:" + redis.port() + "\"", "redis://127.0.0.1:" + redis.port() + "\", password: \"the-real-one-" + REDIS_PW.hashCode() + "\""));
        assertNotEquals(0, ferry("apply", "--config", secured.toString(), "--instance", "a", "--wait-for-servers", "0"));
        ferry("status", "--config", secured.toString());
        ferry("inspect", "--config", secured.toString(), "a", "--max", "1");
        // A YAML syntax error on the password's line, an unparseable URI holding the password.
        Path broken = file(dir, "broken.yaml", mesh(redis.port(), ", password: \"" + REDIS_PW, plainKafka));
        assertEquals(2, ferry("capture", "--config", broken.toString(), "--instance", "a"));
        Path badUri = file(dir, "bad-uri.yaml", mesh(redis.port(), "", plainKafka).replace("redis://127.0.0.1",
                "redis://ferry:" + REDIS_PW + "@127.0.0.1 x"));
        assertEquals(2, ferry("apply", "--config", badUri.toString(), "--instance", "a"));
        // inspect: secrets on the command line are refused without echoing them.
        assertEquals(2, ferry("inspect", "--bootstrap", kafka, "--kafka-property", "sasl.jaas.config=" + jaas.replace("\\", ""), "ferry.a.changes"));

        // Running agents that cannot log in to Redis (started anyway): their endpoints and logs.
        int capturePort = FreePorts.next();
        int applyPort = FreePorts.next();
        Path running = file(dir, "running.yaml", mesh(redis.port(), ", password: \"" + REDIS_PW + "\"", plainKafka)
                .replace("a: {redis", "a: {http: {capturePort: " + capturePort + ", applyPort: " + applyPort + "}, redis"));
        List<JvmProcess> agents = List.of(
                agent(dir, "capture", running), agent(dir, "apply", running));
        try {
            for (int port : List.of(capturePort, applyPort)) {
                Await.until(Duration.ofSeconds(60), "agent on " + port + " answering /readyz with a reason",
                        () -> get(port, "/readyz").contains("redis"));
                for (String path : List.of("/healthz", "/readyz", "/metrics")) {
                    outputs.add(path + " on " + port + ":\n" + get(port, path));
                }
            }
        } finally {
            JvmProcess.closeAll(agents);
        }
        for (String role : List.of("capture", "apply")) {
            outputs.add(role + " log:\n" + Files.readString(dir.resolve(role + ".log")));
        }

        assertTrue(outputs.size() >= 17, "every output collected");
        for (String output : outputs) {
            for (String secret : SECRETS) {
                assertTrue(!output.contains(secret), "secret " + secret + " printed in:\n" + output);
            }
        }
    }

    private static String mesh(int redisPort, String redisExtra, String kafkaSection) {
        return """
                mesh: secrets
                %sinstances:
                  a: {redis: {uri: "redis://127.0.0.1:%d"%s}}
                  b: {redis: {uri: "redis://127.0.0.1:%d"%s}}
                """.formatted(kafkaSection, redisPort, redisExtra, redisPort, redisExtra);
    }

    private static Path file(Path dir, String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    /** Runs ferry in this JVM, keeping its stdout, stderr and everything logged meanwhile. */
    private int ferry(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ByteArrayOutputStream logged = new ByteArrayOutputStream();
        PrintStream stderr = System.err;
        System.setErr(new PrintStream(logged, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = FerryCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        } finally {
            System.setErr(stderr);
        }
        // labelled by the command only: the arguments are the test's input, not Ferry's output
        outputs.add("ferry " + args[0] + " -> exit " + code + "\nstdout:\n" + out + "\nstderr:\n" + err
                + "\nlog:\n" + logged.toString(StandardCharsets.UTF_8));
        return code;
    }

    private static JvmProcess agent(Path dir, String role, Path config) {
        return JvmProcess.start(role, dir.resolve(role + ".log"), FerryCli.class, List.of("-Xmx256m", "-XX:TieredStopAtLevel=1"),
                role, "--config", config.toString(), "--instance", "a", "--skip-checks");
    }

    private static String get(int port, String path) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }
}
