package io.ferry.topology.conflicts.view;

import io.ferry.schemas.ReplicationPolicy;
import java.util.Collection;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Every name the mesh-wide conflict table uses: its compacted output topic, its Kafka Streams
 * application id (which prefixes its internal topics and is its consumer group), its state store and
 * the conflicts topics it reads. {@link ReplicationPolicy} names the agents' topics; this class names
 * only the table's own.
 */
public final class ConflictTableNames {

    /** The queryable state store holding the table (also the name of its changelog topic's middle part). */
    public static final String STORE = "conflicts-table";

    private ConflictTableNames() {
    }

    /** Compacted topic with the latest row of every (db, key, class) of mesh {@code mesh}. */
    public static String tableTopic(String mesh) {
        return "ferry." + requireMesh(mesh) + ".conflicts.table";
    }

    /** Kafka Streams application id (and consumer group) of mesh {@code mesh}'s monitor. */
    public static String applicationId(String mesh) {
        return "ferry-monitor-" + requireMesh(mesh);
    }

    /**
     * The conflicts topics of {@code instances}, as one pattern: a topic an apply agent has not created
     * yet is picked up once it exists, instead of stopping the topology (a list of names would).
     */
    public static Pattern conflictsTopics(Collection<String> instances) {
        if (instances.isEmpty()) {
            throw new IllegalArgumentException("the conflict table needs at least one instance to read");
        }
        return Pattern.compile(instances.stream()
                .map(id -> Pattern.quote(ReplicationPolicy.conflictsTopic(id)))
                .sorted()
                .collect(Collectors.joining("|")));
    }

    /** The mesh name becomes part of topic names: Kafka's alphabet, and short enough for the internal topics' names. */
    public static String requireMesh(String mesh) {
        if (mesh == null || !mesh.matches("[A-Za-z0-9][A-Za-z0-9_-]{0,62}")) {
            throw new IllegalArgumentException("mesh name '" + mesh + "' must be 1-63 characters of letters, digits, '-' or '_', "
                    + "starting with a letter or digit: it names the conflict table's topics");
        }
        return mesh;
    }
}
