package io.ferry.topology;

import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.conflict.ConflictRules;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole mesh, validated: every instance, and for each the topic it owns and the peer topics it
 * applies. Immutable; build it with {@link MeshConfigLoader}.
 */
public record MeshConfig(String mesh, Map<String, InstanceConfig> instances, CaptureSettings capture, ApplySettings apply,
                         ConflictRules conflicts) {

    public MeshConfig {
        instances = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(instances));
    }

    public InstanceConfig instance(String id) {
        InstanceConfig instance = instances.get(id);
        if (instance == null) {
            throw new ConfigException("for mesh '" + mesh + "'",
                    List.of("no instance '" + id + "'; the mesh has " + instances.keySet()));
        }
        return instance;
    }

    public Optional<InstanceConfig> find(String id) {
        return Optional.ofNullable(instances.get(id));
    }

    /** Every other instance: the ones whose changes {@code id} applies. */
    public List<InstanceConfig> peersOf(String id) {
        instance(id);
        return instances.values().stream().filter(i -> !i.id().equals(id)).toList();
    }

    /** Changes topics {@code id}'s apply agent consumes. */
    public List<String> peerTopicsOf(String id) {
        return peersOf(id).stream().map(InstanceConfig::changesTopic).toList();
    }

    public String changesTopicOf(String id) {
        return ReplicationPolicy.changesTopic(instance(id).id());
    }
}
