package io.ferry.localmesh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A {@link LocalKafka} secured as production brokers are: one SASL_SSL listener (SCRAM-SHA-512) with a
 * throw-away self-signed certificate for 127.0.0.1 (made by the JDK's keytool), and the standard
 * authorizer, so a principal may do only what its ACLs allow. {@code admin} is the super user (its SCRAM
 * credentials are written when the log directory is formatted); other users are added with
 * {@link LocalKafka#addUser}.
 *
 * <p>The KRaft controller listener stays PLAINTEXT on loopback (a controller cannot authenticate SCRAM
 * users before it has read them from its own log), so its anonymous principal is a super user too; no
 * client is ever given that port.
 */
public record BrokerSecurity(String adminPassword, Path keyStore, Path trustStore, String storePassword) {

    public static final String ADMIN = "admin";
    public static final String MECHANISM = "SCRAM-SHA-512";
    /** Agents read their SASL login from this environment variable (Kafka's EnvVarConfigProvider), as in the chart. */
    public static final String JAAS_ENV = "KAFKA_JAAS_CONFIG";

    /** Makes the broker's key store and the clients' trust store under {@code dir}. */
    public static BrokerSecurity generate(Path dir) {
        String storePassword = UUID.randomUUID().toString();
        Path keyStore = dir.resolve("broker.p12");
        Path certificate = dir.resolve("broker.pem");
        Path trustStore = dir.resolve("trust.p12");
        try {
            Files.createDirectories(dir);
            keytool(dir, "-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                    "-dname", "CN=127.0.0.1", "-ext", "SAN=IP:127.0.0.1", "-keystore", keyStore.toString(),
                    "-storetype", "PKCS12", "-storepass", storePassword, "-keypass", storePassword);
            keytool(dir, "-exportcert", "-alias", "broker", "-rfc", "-file", certificate.toString(), "-keystore", keyStore.toString(),
                    "-storetype", "PKCS12", "-storepass", storePassword);
            keytool(dir, "-importcert", "-noprompt", "-alias", "broker", "-file", certificate.toString(), "-keystore",
                    trustStore.toString(), "-storetype", "PKCS12", "-storepass", storePassword);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make the broker's TLS material in " + dir, e);
        }
        return new BrokerSecurity(UUID.randomUUID().toString(), keyStore, trustStore, storePassword);
    }

    private static void keytool(Path dir, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Path log = dir.resolve("keytool.log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IllegalStateException("keytool " + args[0] + " failed: " + Files.readString(log));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The broker settings that replace the PLAINTEXT listener (controller port given). */
    void configure(Properties broker, int brokerPort, int controllerPort) {
        broker.put("listeners", "SASL_SSL://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        broker.put("advertised.listeners", "SASL_SSL://127.0.0.1:" + brokerPort);
        broker.put("inter.broker.listener.name", "SASL_SSL");
        broker.put("listener.security.protocol.map", "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT");
        broker.put("sasl.enabled.mechanisms", MECHANISM);
        broker.put("sasl.mechanism.inter.broker.protocol", MECHANISM);
        broker.put("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config", jaas(ADMIN, adminPassword));
        broker.put("ssl.keystore.type", "PKCS12");
        broker.put("ssl.keystore.location", keyStore.toString());
        broker.put("ssl.keystore.password", storePassword);
        broker.put("ssl.key.password", storePassword);
        broker.put("ssl.truststore.type", "PKCS12");
        broker.put("ssl.truststore.location", trustStore.toString());
        broker.put("ssl.truststore.password", storePassword);
        broker.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        broker.put("super.users", "User:" + ADMIN + ";User:ANONYMOUS");
        broker.put("allow.everyone.if.no.acl.found", "false");
    }

    /** The {@code kafka-storage format} option that writes the admin's SCRAM credentials. */
    List<String> formatArgs() {
        return List.of("--add-scram", MECHANISM + "=[name=" + ADMIN + ",password=" + adminPassword + "]");
    }

    /** Client settings for {@code user}: SASL_SSL, SCRAM, the test certificate trusted. */
    public Map<String, String> clientProperties(String user, String password) {
        Map<String, String> props = new LinkedHashMap<>(connectionProperties());
        props.put("sasl.jaas.config", jaas(user, password));
        return props;
    }

    /**
     * What a mesh file's {@code kafka.properties} says for this broker: the connection settings, and the
     * login read from {@value #JAAS_ENV}, so each agent process runs as its own principal.
     */
    public Map<String, String> meshProperties() {
        Map<String, String> props = new LinkedHashMap<>(connectionProperties());
        props.put("config.providers", "env");
        props.put("config.providers.env.class", "org.apache.kafka.common.config.provider.EnvVarConfigProvider");
        props.put("sasl.jaas.config", "${env:" + JAAS_ENV + "}");
        return props;
    }

    private Map<String, String> connectionProperties() {
        Map<String, String> props = new LinkedHashMap<>();
        props.put("security.protocol", "SASL_SSL");
        props.put("sasl.mechanism", MECHANISM);
        props.put("ssl.truststore.type", "PKCS12");
        props.put("ssl.truststore.location", trustStore.toString());
        props.put("ssl.truststore.password", storePassword);
        return props;
    }

    /** The SCRAM login of {@code user}, as {@code sasl.jaas.config} (or {@value #JAAS_ENV}) takes it. */
    public static String jaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user + "\" password=\"" + password + "\";";
    }
}
