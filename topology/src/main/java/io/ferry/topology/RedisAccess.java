package io.ferry.topology;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * What each agent may run on its Redis: the ACL rules of its least-privilege user (the README's
 * {@code ACL SETUSER} lines and the Helm chart's are these) and one sample call per permission, which
 * the start-up check asks {@code ACL DRYRUN} about (Redis 7+).
 */
public final class RedisAccess {

    /** Channel the capture subscribes to for evictions (a literal ACL channel pattern). */
    public static final String EVICTION_CHANNELS = "__keyevent@*__:evicted";

    /** One permission and a call that needs it, as the agent sends it. */
    public record Probe(String permission, List<String> call) {
    }

    public enum Role {
        /**
         * Replica handshake and stream (PSYNC, REPLCONF, COMMAND), TTLs on restart (SCAN, PTTL,
         * PEXPIRETIME), evictions (ROLE, CONFIG GET, PSUBSCRIBE, PING), source position (INFO). No
         * CONFIG SET: notify-keyspace-events must already contain Ee (or evictions are not told apart).
         */
        CAPTURE(List.of(
                probe("ping", "PING"),
                probe("info", "INFO", "replication"),
                probe("command", "COMMAND", "INFO", "PEXPIRETIME"),
                probe("replconf", "REPLCONF", "listening-port", "6380"),
                probe("psync", "PSYNC", "?", "-1"),
                probe("select", "SELECT", "0"),
                probe("scan", "SCAN", "0", "COUNT", "1000"),
                probe("pttl", "PTTL", "k"),
                probe("pexpiretime", "PEXPIRETIME", "k"),
                probe("role", "ROLE"),
                probe("config|get", "CONFIG", "GET", "notify-keyspace-events"),
                probe("psubscribe", "PSUBSCRIBE", EVICTION_CHANNELS)),
                // a cluster's shards and their masters (CLUSTER NODES), the start-up check's slot map (SHARDS, SLOTS before 7.0)
                List.of(probe("cluster|nodes", "CLUSTER", "NODES"), probe("cluster|shards", "CLUSTER", "SHARDS"),
                        probe("cluster|slots", "CLUSTER", "SLOTS")),
                "resetkeys ~* resetchannels &" + EVICTION_CHANNELS),
        /**
         * Peers' writes (any write command, RESTORE for snapshots), MULTI/EXEC with the checkpoint (WATCH when a
         * peer's resync snapshot replaces or deletes keys),
         * reading checkpoints and the error-record journal, the repair script (EVAL; it reads and writes
         * keys), fencing of stale replicas (CLIENT SETNAME/ID/LIST/KILL), INFO for the start-up check.
         */
        APPLY(List.of(
                probe("ping", "PING"),
                probe("info", "INFO", "replication"),
                probe("select", "SELECT", "0"),
                probe("multi", "MULTI"),
                probe("exec", "EXEC"),
                probe("watch", "WATCH", "k"),
                probe("get", "GET", "__ferry:ckpt:peer:0"),
                probe("set", "SET", "__ferry:ckpt:peer:0", "1"),
                probe("@write", "RESTORE", "k", "0", "payload"),
                probe("rpush", "RPUSH", "__ferry:findings:self", "record"),
                probe("lrange", "LRANGE", "__ferry:findings:self", "0", "-1"),
                probe("lrem", "LREM", "__ferry:findings:self", "1", "record"),
                probe("eval", "EVAL", "return 1", "0"),
                probe("@read", "DUMP", "k"),
                probe("time", "TIME"),
                probe("client|setname", "CLIENT", "SETNAME", "ferry-apply-self"),
                probe("client|id", "CLIENT", "ID"),
                probe("client|list", "CLIENT", "LIST", "TYPE", "normal"),
                probe("client|kill", "CLIENT", "KILL", "ID", "1")),
                // a cluster target's slot map (SHARDS, SLOTS before 7.0) and writes to a slot being migrated
                List.of(probe("cluster|shards", "CLUSTER", "SHARDS"), probe("cluster|slots", "CLUSTER", "SLOTS"),
                        probe("asking", "ASKING")),
                "resetkeys ~* resetchannels");

        private final List<Probe> probes;
        private final List<Probe> clusterProbes;
        private final String scope;

        Role(List<Probe> probes, List<Probe> clusterProbes, String scope) {
            this.probes = probes;
            this.clusterProbes = clusterProbes;
            this.scope = scope;
        }

        /** The probes for a standalone Redis, and with {@code cluster} also those a Redis Cluster node needs. */
        public List<Probe> probes(boolean cluster) {
            if (!cluster) {
                return probes;
            }
            List<Probe> all = new ArrayList<>(probes);
            all.addAll(clusterProbes);
            return all;
        }

        /**
         * What this role's user needs besides {@link #aclRules()} on every node of a Redis Cluster, as in
         * {@code ACL SETUSER <user> <rules>}.
         */
        public String clusterRules() {
            StringBuilder rules = new StringBuilder();
            for (Probe probe : clusterProbes) {
                rules.append(rules.isEmpty() ? "+" : " +").append(probe.permission());
            }
            return rules.toString();
        }

        /**
         * The ACL rules of this role's user after its name and password, as in
         * {@code ACL SETUSER <user> on ><password> <rules>}: keys and channels, then nothing but the
         * commands the probes name (+ACL DRYRUN so the agent can check itself at start).
         */
        public String aclRules() {
            StringBuilder rules = new StringBuilder(scope).append(" -@all");
            for (Probe probe : probes) {
                rules.append(" +").append(probe.permission());
            }
            return rules.append(" +acl|dryrun").toString();
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** What {@link #check} found; {@code note} says why nothing was checked, or where permissions are missing. */
    public record Verdict(boolean checked, List<String> missing, String note) {
    }

    private RedisAccess() {
    }

    private static Probe probe(String permission, String... call) {
        return new Probe(permission, List.of(call));
    }

    /**
     * Asks {@code ACL DRYRUN user <probe>} for every probe of {@code role}. {@code dryrun} sends
     * {@code ACL DRYRUN} with the given arguments and returns the reply text ("OK" when allowed), or the
     * error text prefixed with "-" when Redis answers an error.
     */
    public static Verdict check(Role role, String user, boolean cluster, Function<List<String>, String> dryrun) {
        List<String> missing = new ArrayList<>();
        List<Probe> probes = role.probes(cluster);
        for (Probe probe : probes) {
            List<String> args = new ArrayList<>();
            args.add(user);
            args.addAll(probe.call());
            String reply = dryrun.apply(args);
            if (reply.startsWith("-")) {
                String upper = reply.toUpperCase(Locale.ROOT);
                if (upper.contains("UNKNOWN SUBCOMMAND") || upper.contains("UNKNOWN COMMAND")) {
                    if (probe == probes.get(0)) {
                        return new Verdict(false, List.of(), "this Redis has no ACL DRYRUN (before 7.0): permissions are "
                                + "checked as the agent uses them (a refused command stops it with exit code 6)");
                    }
                    continue; // a command this Redis does not have (PEXPIRETIME before 7.0): never sent
                }
                if (upper.contains("NOPERM")) {
                    return new Verdict(false, List.of(), "user '" + user + "' may not run ACL DRYRUN, so its permissions "
                            + "cannot be checked at start; add +acl|dryrun (see the README's Redis users)");
                }
                missing.add(probe.permission());
            } else if (!reply.equals("OK")) {
                missing.add(probe.permission());
            }
        }
        return new Verdict(true, missing, null);
    }
}
