package io.ferry.apply.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.topology.RedisEndpoint;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

class RedisTargetClientTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private static String text(Object reply) {
        return new String((byte[]) reply, StandardCharsets.UTF_8);
    }

    private static RedisEndpoint plain(RedisServer redis, String user, String password) {
        return new RedisEndpoint("127.0.0.1", redis.port(), false, user, password);
    }

    @Test
    void pipelinedTransactionsKeepEveryReplyInPlace() {
        RedisServer redis = TestServers.redis();
        try (RedisTargetClient client = new RedisTargetClient(plain(redis, null, null), TIMEOUT, "ferry-test")) {
            client.connect();
            byte[] big = "v".repeat(300_000).getBytes(StandardCharsets.UTF_8);
            List<TransactionReply> replies = client.execute(List.of(
                    List.of(RawCommand.of("SET", "s", "x"), RawCommand.of("INCR", "s"), RawCommand.of("SET", "big".getBytes(), big),
                            RawCommand.of("SET", "s", "y", "NX")),
                    List.of(RawCommand.of("SET", "t", "1"), RawCommand.of("NOSUCHCOMMAND", "t"))));
            TransactionReply first = replies.get(0);
            assertTrue(first.committed());
            assertEquals("OK", text(first.results().get(0)));
            assertInstanceOf(RedisError.class, first.results().get(1), "an error inside EXEC is one value among the results");
            assertTrue(Reply.isNil(first.results().get(3)), "SET NX on an existing key answers nil");
            TransactionReply second = replies.get(1);
            assertFalse(second.committed());
            assertEquals("EXECABORT", second.execError().code());
            assertEquals("QUEUED", text(second.queued().get(0)));
            assertInstanceOf(RedisError.class, second.queued().get(1));
            assertArrayEquals(big, (byte[]) client.call(RawCommand.of("GET", "big")));
            assertEquals(-1L, client.call(RawCommand.of("TTL", "s")));
            assertEquals(List.of(), client.call(RawCommand.of("KEYS", "nothing*")));
        }
    }

    @Test
    void logsInAsAnAclUserAndRefusesAWrongPassword() {
        RedisServer redis = TestServers.redis();
        try (RedisTargetClient admin = new RedisTargetClient(plain(redis, null, null), TIMEOUT, "ferry-admin")) {
            admin.connect();
            assertEquals("OK", text(admin.call(RawCommand.of("ACL", "SETUSER", "ferry", "on", ">s3cret", "~*", "&*", "+@all"))));
        }
        try (RedisTargetClient client = new RedisTargetClient(plain(redis, "ferry", "s3cret"), TIMEOUT, "ferry-test")) {
            client.connect();
            assertEquals("ferry", text(client.call(RawCommand.of("ACL", "WHOAMI"))));
        }
        try (RedisTargetClient client = new RedisTargetClient(plain(redis, "ferry", "wrong"), TIMEOUT, "ferry-test")) {
            RedisUnavailableException refused = assertThrows(RedisUnavailableException.class, client::connect);
            assertFalse(refused.getMessage().contains("wrong"), "the password never shows in messages");
            assertFalse(client.isConnected());
        }
    }

    @Test
    void speaksTlsAndChecksTheServerCertificate() throws Exception {
        Path dir = TestServers.tempDir("tls");
        Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("cert.pem").toString(),
                "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1")
                .redirectErrorStream(true).redirectOutput(dir.resolve("openssl.log").toFile()).start();
        assertTrue(openssl.waitFor(60, TimeUnit.SECONDS) && openssl.exitValue() == 0, "openssl makes a test certificate");
        int tlsPort;
        try (ServerSocket free = new ServerSocket(0)) {
            tlsPort = free.getLocalPort();
        }
        TestServers.redis("--tls-port", Integer.toString(tlsPort), "--tls-cert-file", dir.resolve("cert.pem").toString(),
                "--tls-key-file", dir.resolve("key.pem").toString(), "--tls-ca-cert-file", dir.resolve("cert.pem").toString(),
                "--tls-auth-clients", "no");
        RedisEndpoint endpoint = new RedisEndpoint("127.0.0.1", tlsPort, true, null, null);
        try (RedisTargetClient client = new RedisTargetClient(endpoint, TIMEOUT, "ferry-test", trusting(dir.resolve("cert.pem")))) {
            client.connect();
            TransactionReply reply = client.execute(List.of(List.of(RawCommand.of("SET", "k", "v")))).get(0);
            assertTrue(reply.committed());
            assertEquals("v", text(client.call(RawCommand.of("GET", "k"))));
        }
        try (RedisTargetClient untrusting = new RedisTargetClient(endpoint, TIMEOUT, "ferry-test")) {
            assertThrows(RedisUnavailableException.class, untrusting::connect, "a certificate the JVM does not trust is refused");
        }
    }

    private static SSLSocketFactory trusting(Path certificate) throws Exception {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        try (InputStream in = Files.newInputStream(certificate)) {
            store.setCertificateEntry("redis", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(store);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context.getSocketFactory();
    }
}
