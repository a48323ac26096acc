package io.ferry.topology;

import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.conflicts.view.ConflictTableNames;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * What each role may do in Kafka: the ACLs of its least-privilege principal. The README's
 * {@code kafka-acls} commands, the Helm chart's Strimzi {@code KafkaUser} examples and the secured-broker
 * test's {@code createAcls} are all rendered from {@link #grants}; an agent refused by Kafka names the
 * grant it misses with {@link #explain}.
 */
public final class KafkaAccess {

    /** Who a principal is for. */
    public enum Role {
        /** One instance's capture: writes its changes and offsets topics in transactions, reads its offsets back. */
        CAPTURE("capture"),
        /** One instance's apply agent: reads its peers' changes and conflicts, its own changes, writes its error records. */
        APPLY("apply"),
        /** Operators: {@code ferry status}, {@code ferry inspect}, the console formatter; reads every Ferry topic and group. */
        OPERATOR("operator"),
        /** One mesh's {@code ferry monitor} (Kafka Streams): reads the conflicts topics, keeps its table and internal topics. */
        MONITOR("monitor");

        private final String label;

        Role(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /**
     * One ACL: operations on a resource ({@code LITERAL} name or {@code PREFIXED} prefix).
     *
     * @param optional granted for convenience only: without it the agent still runs if an admin did the
     *                 work (created the topics, set their configs)
     */
    public record Grant(ResourceType type, String name, PatternType pattern, List<AclOperation> operations, boolean optional) {

        public Grant {
            operations = List.copyOf(operations);
        }

        /** The {@code kafka-acls.sh} command that adds it for {@code principal} (e.g. {@code User:ferry-capture-eu-1}). */
        public String kafkaAclsCommand(String principal) {
            StringBuilder command = new StringBuilder("kafka-acls.sh --bootstrap-server $BOOTSTRAP --command-config admin.properties --add --allow-principal ")
                    .append(principal);
            for (AclOperation operation : operations) {
                command.append(" --operation ").append(camel(operation.name()));
            }
            switch (type) {
                case TOPIC -> command.append(" --topic ").append(name);
                case GROUP -> command.append(" --group ").append(name);
                case TRANSACTIONAL_ID -> command.append(" --transactional-id ").append(name);
                case CLUSTER -> command.append(" --cluster");
                default -> throw new IllegalStateException("no kafka-acls option for " + type);
            }
            if (pattern == PatternType.PREFIXED) {
                command.append(" --resource-pattern-type prefixed");
            }
            return command.toString();
        }

        /** The same as Kafka {@link AclBinding}s (one per operation), for {@code Admin.createAcls}. */
        public List<AclBinding> bindings(String principal) {
            ResourcePattern resource = new ResourcePattern(type, name, pattern);
            return operations.stream()
                    .map(op -> new AclBinding(resource, new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW)))
                    .toList();
        }

        /** A Strimzi {@code KafkaUser} {@code spec.authorization.acls} entry. */
        public String strimziAcl() {
            String kind = switch (type) {
                case TOPIC -> "topic";
                case GROUP -> "group";
                case TRANSACTIONAL_ID -> "transactionalId";
                case CLUSTER -> "cluster";
                default -> throw new IllegalStateException("no Strimzi resource type for " + type);
            };
            String resource = type == ResourceType.CLUSTER ? "{type: cluster}"
                    : "{type: " + kind + ", name: " + name + ", patternType: " + pattern.name().toLowerCase(Locale.ROOT) + "}";
            return "- resource: " + resource + "\n  operations: ["
                    + operations.stream().map(op -> camel(op.name())).collect(Collectors.joining(", ")) + "]";
        }

        boolean covers(ResourceType resourceType, String resourceName) {
            return type == resourceType && (pattern == PatternType.PREFIXED ? resourceName.startsWith(name) : resourceName.equals(name));
        }
    }

    private KafkaAccess() {
    }

    /**
     * Every grant of {@code role}. {@code instance} is the agent's instance (ignored for operators; the
     * mesh's name for the monitor), {@code peers} its peers (apply; for the monitor, the instances whose
     * conflicts it reads), {@code shards} the source's shard count (capture: one pair of transactional
     * ids per shard; 1 for a standalone Redis).
     */
    public static List<Grant> grants(Role role, String instance, Collection<String> peers, int shards) {
        List<Grant> grants = new ArrayList<>();
        switch (role) {
            case CAPTURE -> {
                String changes = ReplicationPolicy.changesTopic(instance);
                String offsets = ReplicationPolicy.offsetsTopic(instance);
                grants.add(topic(changes, false, AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS));
                // the position is read back at start: the offsets topic is read too
                grants.add(topic(offsets, false, AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.READ));
                for (int shard = 0; shard < shards; shard++) {
                    for (int lane = 0; lane < ReplicationPolicy.CAPTURE_LANES; lane++) {
                        // literal ids: a prefix "ferry-capture-<id>-" would also match instance "<id>-x"'s ids
                        grants.add(new Grant(ResourceType.TRANSACTIONAL_ID, ReplicationPolicy.captureTransactionalId(instance, shard, lane),
                                PatternType.LITERAL, List.of(AclOperation.WRITE, AclOperation.DESCRIBE), false));
                    }
                }
                // only to create missing topics and raise their limits: an admin can do both beforehand
                grants.add(topic(changes, true, AclOperation.CREATE, AclOperation.ALTER_CONFIGS));
                grants.add(topic(offsets, true, AclOperation.CREATE));
            }
            case APPLY -> {
                for (String peer : peers) {
                    grants.add(topic(ReplicationPolicy.changesTopic(peer), false, AclOperation.READ, AclOperation.DESCRIBE));
                    // repair requests: peers' conflict records
                    grants.add(topic(ReplicationPolicy.conflictsTopic(peer), false, AclOperation.READ, AclOperation.DESCRIBE));
                }
                // conflict detection reads the instance's own writes back
                grants.add(topic(ReplicationPolicy.changesTopic(instance), false, AclOperation.READ, AclOperation.DESCRIBE));
                grants.add(topic(ReplicationPolicy.deadLetterTopic(instance), false, AclOperation.WRITE, AclOperation.DESCRIBE));
                grants.add(topic(ReplicationPolicy.conflictsTopic(instance), false, AclOperation.WRITE, AclOperation.DESCRIBE));
                grants.add(new Grant(ResourceType.GROUP, ReplicationPolicy.applyGroup(instance), PatternType.LITERAL,
                        List.of(AclOperation.READ, AclOperation.DESCRIBE), false));
                grants.add(topic(ReplicationPolicy.deadLetterTopic(instance), true, AclOperation.CREATE));
                grants.add(topic(ReplicationPolicy.conflictsTopic(instance), true, AclOperation.CREATE));
            }
            case OPERATOR -> {
                grants.add(new Grant(ResourceType.TOPIC, "ferry.", PatternType.PREFIXED,
                        List.of(AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS), false));
                grants.add(new Grant(ResourceType.GROUP, "ferry-apply-", PatternType.PREFIXED, List.of(AclOperation.DESCRIBE), false));
                // kafka-console-consumer with the formatter joins a group: name it ferry-ops-<you>
                grants.add(new Grant(ResourceType.GROUP, "ferry-ops-", PatternType.PREFIXED, List.of(AclOperation.READ), false));
            }
            case MONITOR -> {
                String application = ConflictTableNames.applicationId(instance);
                for (String read : peers) {
                    grants.add(topic(ReplicationPolicy.conflictsTopic(read), false, AclOperation.READ, AclOperation.DESCRIBE));
                }
                grants.add(topic(ConflictTableNames.tableTopic(instance), false, AclOperation.WRITE, AclOperation.DESCRIBE));
                // Kafka Streams' own topics (the repartition topic and the table's changelog): created, read, written, purged
                grants.add(new Grant(ResourceType.TOPIC, application + "-", PatternType.PREFIXED, List.of(AclOperation.CREATE,
                        AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.DELETE), false));
                grants.add(new Grant(ResourceType.GROUP, application, PatternType.LITERAL, List.of(AclOperation.READ, AclOperation.DESCRIBE), false));
                grants.add(topic(ConflictTableNames.tableTopic(instance), true, AclOperation.CREATE));
            }
            default -> throw new IllegalStateException(role.name());
        }
        return grants;
    }

    /**
     * The conventional principal of a role: {@code User:ferry-capture-<id>}, {@code User:ferry-apply-<id>},
     * {@code User:ferry-operator}, {@code User:ferry-monitor-<mesh>} ({@code instance} is then the mesh's name).
     */
    public static String userName(Role role, String instance) {
        return role == Role.OPERATOR ? "ferry-operator" : "ferry-" + role.label() + "-" + instance;
    }

    /**
     * The README's {@code kafka-acls} block for {@code instance} (a standalone source) with {@code peers}
     * in mesh {@code mesh}: its capture's, its apply agent's, the operators' and the mesh monitor's grants,
     * optional ones marked.
     */
    public static String kafkaAclsDocumentation(String mesh, String instance, List<String> peers) {
        StringBuilder text = new StringBuilder();
        for (Role role : Role.values()) {
            String principal = "User:" + userName(role, subject(role, mesh, instance));
            String whose = switch (role) {
                case OPERATOR -> "s";
                case MONITOR -> " of mesh " + mesh;
                default -> " of " + instance;
            };
            text.append("# ").append(role.label()).append(whose).append(": ").append(principal).append('\n');
            for (Grant grant : grants(role, subject(role, mesh, instance), scope(role, instance, peers), 1)) {
                text.append(grant.kafkaAclsCommand(principal)).append(grant.optional() ? "   # optional: to create missing topics\n" : "\n");
            }
        }
        return text.toString();
    }

    /** The same grants as Strimzi {@code KafkaUser} resources (SCRAM-SHA-512), for the chart's example. */
    public static String strimziKafkaUsers(String kafkaCluster, String mesh, String instance, List<String> peers) {
        StringBuilder yaml = new StringBuilder();
        for (Role role : Role.values()) {
            yaml.append("---\napiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaUser\nmetadata:\n  name: ").append(userName(role, subject(role, mesh, instance)))
                    .append("\n  labels:\n    strimzi.io/cluster: ").append(kafkaCluster)
                    .append("\nspec:\n  authentication:\n    type: scram-sha-512\n  authorization:\n    type: simple\n    acls:\n");
            for (Grant grant : grants(role, subject(role, mesh, instance), scope(role, instance, peers), 1)) {
                if (grant.optional()) {
                    yaml.append("      # optional: to create missing topics\n");
                }
                yaml.append(grant.strimziAcl().indent(6));
            }
        }
        return yaml.toString();
    }

    /** Whom a role's grants are for in the documentation: the mesh for its monitor, else the instance. */
    private static String subject(Role role, String mesh, String instance) {
        return role == Role.MONITOR ? mesh : instance;
    }

    /** The instances a role's grants name besides its own: the monitor reads every instance's conflicts. */
    private static List<String> scope(Role role, String instance, List<String> peers) {
        if (role != Role.MONITOR) {
            return peers;
        }
        List<String> all = new ArrayList<>(peers);
        all.add(0, instance);
        return all;
    }

    /**
     * A message for an agent Kafka refused: what was refused and the grant(s) that allow it, or, if
     * Ferry's grants cover it already, that the principal lacks the role's ACLs.
     */
    public static String explain(Role role, String instance, Collection<String> peers, int shards, String principal,
                                 AuthorizationException refused) {
        List<Grant> grants = grants(role, instance, peers, shards);
        Set<Grant> needed = new LinkedHashSet<>();
        if (refused instanceof TopicAuthorizationException topics) {
            for (String topic : topics.unauthorizedTopics()) {
                grants.stream().filter(g -> g.covers(ResourceType.TOPIC, topic) && !g.optional()).forEach(needed::add);
            }
        } else if (refused instanceof GroupAuthorizationException group && group.groupId() != null) {
            grants.stream().filter(g -> g.covers(ResourceType.GROUP, group.groupId())).forEach(needed::add);
        } else if (refused instanceof TransactionalIdAuthorizationException) {
            grants.stream().filter(g -> g.type() == ResourceType.TRANSACTIONAL_ID).forEach(needed::add);
        }
        if (needed.isEmpty() && role == Role.OPERATOR) {
            needed.addAll(grants); // few, and Kafka does not always say which resource it refused
        }
        String who = principal == null ? "<principal>" : principal;
        String what = switch (role) {
            case OPERATOR -> "Kafka refused Ferry's operator command";
            case MONITOR -> "Kafka refused the monitor of mesh '" + instance + "'";
            default -> "Kafka refused the " + role.label() + " agent of instance '" + instance + "'";
        } + " (not authorized: " + refused.getMessage() + ")";
        if (needed.isEmpty()) {
            return what + ". The " + role.label() + " principal's ACLs are listed in the README (section \"Kafka ACLs\")";
        }
        return what + (needed.size() == 1 ? ". Add the ACL: " : ". Add the ACLs: ") + needed.stream().map(g -> g.kafkaAclsCommand(who)).collect(Collectors.joining(" ; "));
    }

    /**
     * The SASL user of {@code sasl.jaas.config} ({@code username="..."}) as {@code User:<name>}, also when
     * the login comes from an environment variable ({@code ${env:NAME}}, as the chart sets it); null if
     * unknown. Only the user name is taken, never the password.
     */
    public static String principal(java.util.Map<String, String> kafkaProperties) {
        String jaas = kafkaProperties.get("sasl.jaas.config");
        java.util.regex.Matcher fromEnv = jaas == null ? null : ENV_REFERENCE.matcher(jaas.trim());
        if (fromEnv != null && fromEnv.matches()) {
            jaas = System.getenv(fromEnv.group(1));
        }
        if (jaas == null) {
            return null;
        }
        java.util.regex.Matcher user = USERNAME.matcher(jaas);
        return user.find() ? "User:" + user.group(1) : null;
    }

    private static final java.util.regex.Pattern ENV_REFERENCE = java.util.regex.Pattern.compile("\\$\\{env:([^}:]+)}");
    private static final java.util.regex.Pattern USERNAME = java.util.regex.Pattern.compile("username\\s*=\\s*\"?([^\"\\s;$]+)\"?");

    private static Grant topic(String name, boolean optional, AclOperation... operations) {
        return new Grant(ResourceType.TOPIC, name, PatternType.LITERAL, List.of(operations), optional);
    }

    /** DESCRIBE_CONFIGS → DescribeConfigs, as kafka-acls and Strimzi spell operations. */
    private static String camel(String constant) {
        StringBuilder out = new StringBuilder();
        for (String part : constant.split("_")) {
            out.append(part.charAt(0)).append(part.substring(1).toLowerCase(Locale.ROOT));
        }
        return out.toString();
    }
}
