package io.ferry.cli.inspect;

import io.ferry.cli.ExitCode;
import io.ferry.cli.OperatorException;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/** Kafka client settings given to a command: a properties file (secrets) plus non-secret {@code KEY=VALUE} options. */
final class KafkaPropertiesOption {

    private KafkaPropertiesOption() {
    }

    /** True for settings that hold a secret (JAAS config with its password, key and trust store passwords). */
    static boolean isSecret(String key) {
        String lower = key.toLowerCase(Locale.ROOT);
        return lower.contains("password") || lower.contains("jaas") || lower.endsWith(".key") || lower.contains("secret");
    }

    static Map<String, String> merge(Path file, Map<String, String> options) {
        List<String> secrets = options.keySet().stream().filter(KafkaPropertiesOption::isSecret).toList();
        if (!secrets.isEmpty()) {
            throw new OperatorException(ExitCode.BAD_CONFIG, "--kafka-property " + String.join(", ", secrets)
                    + ": a secret on the command line is visible to every user of this host (ps, shell history); "
                    + "put it in a properties file and pass --kafka-properties-file (or $FERRY_KAFKA_PROPERTIES_FILE)");
        }
        Map<String, String> merged = new LinkedHashMap<>();
        if (file != null) {
            Properties props = new Properties();
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                props.load(in);
            } catch (IOException e) {
                throw new OperatorException(ExitCode.BAD_CONFIG, "--kafka-properties-file: cannot read " + file
                        + " (" + e.getClass().getSimpleName() + ")");
            }
            props.stringPropertyNames().forEach(name -> merged.put(name, props.getProperty(name)));
        }
        merged.putAll(options);
        return merged;
    }
}
