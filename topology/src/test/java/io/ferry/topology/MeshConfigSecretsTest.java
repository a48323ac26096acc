package io.ferry.topology;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Mistakes in a mesh file are reported without the secrets the file holds. */
class MeshConfigSecretsTest {

    private static final String SECRET = "PLANTED-pw-5e1b";

    @Test
    void aYamlSyntaxErrorOnAPasswordsLineSaysWhereButNotTheLine() {
        ConfigException e = assertThrows(ConfigException.class, () -> MeshConfigLoader.parse("""
                mesh: m
                instances:
                  a: {redis: {uri: "redis://h:1", password: "%s}
                  b: {redis: {uri: "redis://h:2"}}
                """.formatted(SECRET), "mesh.yaml", Map.of()));
        assertTrue(e.getMessage().contains("not valid YAML at line"), e.getMessage());
        assertFalse(e.getMessage().contains(SECRET), e.getMessage());
        assertFalse(String.valueOf(e.getCause()).contains(SECRET));
    }

    @Test
    void anUnparseableUriIsReportedWithoutItsUserAndPassword() {
        ConfigException e = assertThrows(ConfigException.class, () -> MeshConfigLoader.parse("""
                mesh: m
                instances:
                  a: {redis: {uri: "redis://user:%s@h st:1"}}
                  b: {redis: {uri: "redis://user:%s@h:2"}}
                kafka: {bootstrap: "k:9092", properties: {sasl.jaas.config: "x password=\\"%s\\";"}}
                """.formatted(SECRET, SECRET, SECRET), "mesh.yaml", Map.of()));
        assertTrue(e.getMessage().contains("instances.a.redis.uri: 'redis://***@h st:1' is not a URI"), e.getMessage());
        assertTrue(e.getMessage().contains("instances.b.redis.uri: do not put the password in the URI"), e.getMessage());
        assertFalse(e.getMessage().contains(SECRET), e.getMessage());
    }

    @Test
    void endpointsPrintNeitherRedisPasswordsNorKafkaProperties() {
        MeshConfig mesh = MeshConfigLoader.parse("""
                mesh: m
                instances:
                  a: {redis: {uri: "redis://h:1", username: u, password: "%s"}}
                  b: {redis: {uri: "redis://h:2", password: "%s"}}
                kafka: {bootstrap: "k:9092", properties: {sasl.jaas.config: "x password=\\"%s\\";", ssl.truststore.password: "%s"}}
                """.formatted(SECRET, SECRET, SECRET, SECRET), "mesh.yaml", Map.of());
        for (InstanceConfig instance : mesh.instances().values()) {
            assertFalse(instance.toString().contains(SECRET), instance.toString());
            assertFalse(instance.redis().toString().contains(SECRET));
            assertFalse(instance.kafka().toString().contains(SECRET));
        }
        assertFalse(mesh.toString().contains(SECRET), "MeshConfig.toString");
    }
}
