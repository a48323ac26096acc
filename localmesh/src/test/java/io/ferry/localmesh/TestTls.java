package io.ferry.localmesh;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * A throw-away certificate for TLS tests: made by {@code openssl} for {@code 127.0.0.1} (IP SAN only, so
 * a client dialling "localhost" must refuse it), as PEM files for redis-server and as a PKCS12 trust
 * store for Java clients, in this JVM or in an agent's.
 */
public record TestTls(Path certificate, Path key, Path trustStore) {

    private static final String STORE_PASSWORD = "changeit";

    public static TestTls create() {
        Path dir = TestServers.tempDir("tls");
        try {
            Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("cert.pem").toString(),
                    "-subj", "/CN=ferry-test", "-addext", "subjectAltName=IP:127.0.0.1")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("openssl.log").toFile()).start();
            if (!openssl.waitFor(60, TimeUnit.SECONDS) || openssl.exitValue() != 0) {
                throw new IllegalStateException("openssl could not make a test certificate: " + Files.readString(dir.resolve("openssl.log")));
            }
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            try (InputStream in = Files.newInputStream(dir.resolve("cert.pem"))) {
                store.setCertificateEntry("redis", CertificateFactory.getInstance("X.509").generateCertificate(in));
            }
            Path trustStore = dir.resolve("trust.p12");
            try (OutputStream out = Files.newOutputStream(trustStore)) {
                store.store(out, STORE_PASSWORD.toCharArray());
            }
            return new TestTls(dir.resolve("cert.pem"), dir.resolve("key.pem"), trustStore);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot make TLS test material in " + dir, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A redis-server and the port where it speaks TLS (its plain port stays open for the harness). */
    public record TlsRedis(RedisServer server, int tlsPort) {
        /** {@code rediss://} URI of the TLS port, under the host name given. */
        public String uri(String host) {
            return "rediss://" + host + ":" + tlsPort;
        }
    }

    /** A Debian redis-server (built with TLS) that also listens with TLS, on a port of its own. */
    public TlsRedis redis(String... extraArgs) {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        List<String> args = new ArrayList<>(List.of("--tls-port", Integer.toString(port),
                "--tls-cert-file", certificate.toString(), "--tls-key-file", key.toString(),
                "--tls-ca-cert-file", certificate.toString(), "--tls-auth-clients", "no"));
        args.addAll(List.of(extraArgs));
        return new TlsRedis(TestServers.redis(TestServers.redis70(), args.toArray(String[]::new)), port);
    }

    /** JVM options that make an agent's default SSL context trust the certificate. */
    public List<String> jvmArgs() {
        return List.of("-Djavax.net.ssl.trustStore=" + trustStore, "-Djavax.net.ssl.trustStorePassword=" + STORE_PASSWORD,
                "-Djavax.net.ssl.trustStoreType=PKCS12");
    }

    /** A socket factory trusting the certificate, for clients in this JVM. */
    public SSLSocketFactory socketFactory() {
        try (InputStream in = Files.newInputStream(trustStore)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, STORE_PASSWORD.toCharArray());
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context.getSocketFactory();
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
