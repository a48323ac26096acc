package io.ferry.e2e.capture;

import io.ferry.capture.CaptureFixture;
import io.ferry.cli.FerryCli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.JvmProcess;
import io.ferry.localmesh.TestServers;
import io.ferry.localmesh.TestTls;
import io.ferry.schemas.EventKind;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * TLS and AUTH are configuration: a capture pointed at a {@code rediss://} source with a password
 * captures over TLS, never logs the password, and refuses a certificate that does not name the host it
 * dialled.
 */
class CaptureTlsTest {

    private static final String PASSWORD = "tls-test-s3cret";

    @Test
    void capturesOverTlsWithAuthAndRefusesACertificateForAnotherHost() throws Exception {
        TestTls tls = TestTls.create();
        TestTls.TlsRedis redis = tls.redis();
        try (StatefulRedisConnection<String, String> admin = CaptureFixture.connect(redis.server())) {
            admin.sync().configSet("requirepass", PASSWORD);
        }
        Path logs = TestServers.tempDir("tls-logs");
        List<String> jvm = new ArrayList<>(tls.jvmArgs());
        jvm.add("-Xmx256m");

        String id = CaptureFixture.instanceId("tls");
        Path config = meshFile(id, redis.uri("127.0.0.1"));
        RedisClient client = RedisClient.create(RedisURI.builder().withHost("127.0.0.1").withPort(redis.server().port())
                .withPassword(PASSWORD.toCharArray()).build());
        try (CaptureFixture.ChangeLog log = new CaptureFixture.ChangeLog(id);
             StatefulRedisConnection<String, String> connection = client.connect();
             JvmProcess capture = JvmProcess.start("capture-tls", logs.resolve("capture-tls.log"), FerryCli.class, jvm,
                     "capture", "--config", config.toString(), "--instance", id, "--http-port", "0")) {
            log.await("the snapshot over TLS", Duration.ofSeconds(60),
                    all -> all.stream().anyMatch(e -> e.getKind() == EventKind.SNAPSHOT_END));
            connection.sync().set("over", "tls");
            log.changesUntil("SET over tls", Duration.ofSeconds(30));
            assertEquals(0, capture.stop(), "SIGTERM stops the capture cleanly");
        } finally {
            client.shutdown();
        }
        String captured = Files.readString(logs.resolve("capture-tls.log"));
        assertFalse(captured.contains(PASSWORD), "the password never shows in the log");

        // the certificate names 127.0.0.1 only: dialling "localhost" must not be trusted
        String other = CaptureFixture.instanceId("tls-host");
        Path wrongHost = meshFile(other, redis.uri("localhost"));
        try (CaptureFixture.ChangeLog log = new CaptureFixture.ChangeLog(other);
             JvmProcess capture = JvmProcess.start("capture-tls-host", logs.resolve("capture-tls-host.log"), FerryCli.class, jvm,
                     // the start-up check would refuse the host too; skipped to see the capture's own refusal
                     "capture", "--config", wrongHost.toString(), "--instance", other, "--http-port", "0", "--skip-checks")) {
            Path hostLog = logs.resolve("capture-tls-host.log");
            try {
                Await.until(Duration.ofSeconds(60), "the capture refusing a certificate for another host",
                        () -> logContains(hostLog, "No name matching localhost found"));
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; capture log:\n" + Files.readString(hostLog), e);
            }
            assertTrue(log.poll().isEmpty(), "nothing captured through an unverified connection");
        }
    }

    private static boolean logContains(Path log, String text) {
        try {
            return Files.exists(log) && Files.readString(log).contains(text);
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static Path meshFile(String id, String uri) throws Exception {
        Path file = TestServers.tempDir("mesh").resolve("mesh.yaml");
        Files.writeString(file, CaptureFixture.yaml(id, uri, null)
                .replace("{uri: \"" + uri + "\"}", "{uri: \"" + uri + "\", password: \"" + PASSWORD + "\"}"));
        return file;
    }
}
