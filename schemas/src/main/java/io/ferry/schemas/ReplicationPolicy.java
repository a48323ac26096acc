package io.ferry.schemas;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The one place that names Ferry's topics, record headers and reserved Redis keys, and that decides
 * whether a write is Ferry's own echo. Capture and apply both ask this class; neither spells a name.
 */
public final class ReplicationPolicy {

    /** Header carrying the origin instance id (UTF-8), so kcat -J and the console consumer show it. */
    public static final String ORIGIN_HEADER = "ferry.origin";
    /** Header carrying the {@link EventKind} name (UTF-8). */
    public static final String KIND_HEADER = "ferry.kind";
    /**
     * Header carrying the {@link AppliedVector} of a change event (what its origin had applied of every
     * peer when the write happened) and of a capture position record (the vector at that position).
     */
    public static final String APPLIED_HEADER = "ferry.applied";
    /**
     * Header of a capture position record: how many keys (Ferry's own {@code __ferry:} keys left out) its
     * source held at that position, in decimal. The capture compares it with the source's copy after a
     * full resync under a new replication id to tell a wiped source from a failover.
     */
    public static final String SOURCE_KEYS_HEADER = "ferry.source.keys";
    /**
     * Header of a capture position record of one shard of a Redis Cluster source: the node ids of the
     * shard (master and replicas, comma-separated, ASCII) when it was committed. A restarted capture finds
     * each shard's partition by these ids, which survive failovers and slot moves.
     */
    public static final String SHARD_NODES_HEADER = "ferry.shard.nodes";
    /**
     * Header of a change event whose keys had a TTL on the origin after the write ({@link KeyExpiries}:
     * key index → absolute expiry). A peer whose own copy expired a moment before the write arrived
     * would otherwise create the key anew, without a TTL, while the origin's copy expires: it applies
     * the origin's expiry with the write instead.
     */
    public static final String EXPIRY_HEADER = "ferry.expiry";
    /**
     * Header of every record (SNAPSHOT_START, _KEY, _CHUNK, _END) of a snapshot published after a full
     * resync of a running instance (its position had left the source's replication backlog); the value is
     * the position the capture had committed before, {@code replid:offset} (UTF-8). Such a snapshot is the
     * origin's whole state, not a first copy: peers replace their copies of its keys and delete the keys it
     * no longer has, except where they hold writes the origin had not applied (its applied vector, the
     * copy's own checkpoints, rides in {@link #APPLIED_HEADER}). A snapshot without it (a first start, or a
     * capture before this header existed) only adds keys that are missing.
     */
    public static final String RESYNC_HEADER = "ferry.resync";

    /**
     * Header (value "1") on the last record of a retired partition: a heartbeat its capture sends when the
     * shard it carried is gone or now carried by another partition (Redis Cluster sources), so peers stop
     * measuring their lag on it. Nothing follows it in that partition.
     */
    public static final String RETIRED_HEADER = "ferry.retired";

    /**
     * Reserved key a conflict repair writes in the same MULTI/EXEC (or script) as the key it re-publishes:
     * its value is the source time of the winning write the repair carries, which the capture gives the
     * published event (so a repair does not win later conflicts merely by being recent). It carries the hash
     * tag {@code slotTag} of the repaired key's slot, {@code __ferry:repair-time:{<slotTag>}}, so that on a
     * Redis Cluster both keys are in one slot (at most one such key per slot and db).
     */
    public static byte[] repairTimeKey(String slotTag) {
        return (REPAIR_TIME_PREFIX + "{" + requireSlotTag(slotTag) + "}").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Whether {@code key} is a repair-time key: any slot's ({@link #repairTimeKey}) or the one key
     * {@code __ferry:repair-time} that apply agents of earlier releases write.
     */
    public static boolean isRepairTimeKey(byte[] key) {
        if (!isReservedKey(key)) {
            return false;
        }
        String text = new String(key, StandardCharsets.UTF_8);
        if (text.equals(LEGACY_REPAIR_TIME_KEY)) {
            return true;
        }
        return isSlotKey(text, REPAIR_TIME_PREFIX);
    }

    /** {@code <prefix>{<slot tag>}}. */
    private static boolean isSlotKey(String text, String prefix) {
        return text.startsWith(prefix + "{") && text.endsWith("}") && isSlotTag(text.substring(prefix.length() + 1, text.length() - 1));
    }

    private static final String LEGACY_REPAIR_TIME_KEY = "__ferry:repair-time";
    private static final String REPAIR_TIME_PREFIX = LEGACY_REPAIR_TIME_KEY + ":";

    /**
     * Reserved key written, instead of the repair-time key and with the same meaning, by the re-publication of a
     * key a peer kept when it reconciled this instance's resync snapshot (and by the repairs that settle such a
     * re-publication's concurrent writes), {@code __ferry:republish-time:{<slotTag>}}: the capture also marks the
     * event {@link #REPUBLISHED_HEADER}.
     */
    public static byte[] republishTimeKey(String slotTag) {
        return (REPUBLISH_TIME_PREFIX + "{" + requireSlotTag(slotTag) + "}").getBytes(StandardCharsets.UTF_8);
    }

    /** Whether {@code key} is a re-publication's time key ({@link #republishTimeKey}) of any slot. */
    public static boolean isRepublishTimeKey(byte[] key) {
        return isReservedKey(key) && isSlotKey(new String(key, StandardCharsets.UTF_8), REPUBLISH_TIME_PREFIX);
    }

    private static final String REPUBLISH_TIME_PREFIX = "__ferry:republish-time:";

    /**
     * Header (value "1") of a change event whose block carried {@link #republishTimeKey}: a re-publication after a
     * resync, a copy of its origin's whole value of a key that holds the origin's gap writes, not a client's write.
     * Conflict detection lets such a copy win against a concurrent write that changes only part of the value (INCR,
     * RPUSH, HSET, ...), which is then applied on top of it, instead of either erasing the other's effect.
     */
    public static final String REPUBLISHED_HEADER = "ferry.republished";

    /** The marker key giving a repair its source time in the slot tagged {@code slotTag}: a re-publication's or a repair's. */
    public static byte[] sourceTimeKey(String slotTag, boolean republication) {
        return republication ? republishTimeKey(slotTag) : repairTimeKey(slotTag);
    }

    /**
     * Reserved key marking a {@code ferry join} in progress in the joining instance's Redis (its value says from
     * which peer and how far); the join deletes it in the MULTI/EXEC that writes the joined instance's checkpoints.
     */
    public static final String JOIN_KEY = "__ferry:join";

    /**
     * Reserved set, in a peer's Redis, of the keys (as {@code <db>:<key bytes>}) a resync snapshot of
     * {@code origin}'s partition has brought so far: written with each key in the same MULTI/EXEC as the
     * checkpoint, so that at SNAPSHOT_END the peer knows which of its keys the origin no longer has, even
     * across restarts of its apply agent. Deleted at SNAPSHOT_START and SNAPSHOT_END.
     */
    public static byte[] resyncKeysKey(String origin, int partition) {
        return (RESERVED_PREFIX + "resync:" + requireId(origin) + ":" + partition).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The set of {@link #resyncKeysKey} for the keys of one Redis Cluster slot, {@code __ferry:resync:{<slotTag>}:<origin>:<partition>}:
     * on a cluster target every MULTI/EXEC stays in one slot, so each slot records the snapshot's keys of its own.
     */
    public static byte[] slotResyncKeysKey(String origin, int partition, String slotTag) {
        return (RESERVED_PREFIX + "resync:{" + requireSlotTag(slotTag) + "}:" + requireId(origin) + ":" + partition)
                .getBytes(StandardCharsets.UTF_8);
    }

    /** SCAN MATCH patterns of every set of keys a resync snapshot of {@code origin} brought: standalone and per slot. */
    public static List<byte[]> resyncKeysPatterns(String origin) {
        String id = requireId(origin);
        return List.of((RESERVED_PREFIX + "resync:" + id + ":*").getBytes(StandardCharsets.UTF_8),
                (RESERVED_PREFIX + "resync:{*}:" + id + ":*").getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Reserved key, in a peer's Redis, where the {@code n}-th big value of one of {@code origin}'s events is
     * put together chunk by chunk before the command that carries it runs (see the capture's
     * {@code StagedCommandMapper}). It carries {@code key}'s hash tag so that both are in one Redis Cluster slot.
     */
    public static byte[] stageKey(String origin, int partition, int n, byte[] key) {
        return stageKey(requireId(origin) + ":" + partition + ":" + n, key);
    }

    /** Reserved key where a peer's apply agent puts together a snapshot key sent in chunks, before its RESTORE. */
    public static byte[] snapshotStageKey(String origin, int partition, byte[] key) {
        return stageKey(requireId(origin) + ":" + partition + ":snapshot", key);
    }

    private static byte[] stageKey(String name, byte[] key) {
        byte[] prefix = (RESERVED_PREFIX + "stage:" + name + ":{").getBytes(StandardCharsets.UTF_8);
        byte[] tag = hashTag(key);
        byte[] stage = Arrays.copyOf(prefix, prefix.length + tag.length + 1);
        System.arraycopy(tag, 0, stage, prefix.length, tag.length);
        stage[stage.length - 1] = '}';
        return stage;
    }

    /** The part of {@code key} Redis Cluster hashes: the first non-empty {…}, else the whole key. */
    static byte[] hashTag(byte[] key) {
        for (int open = 0; open < key.length; open++) {
            if (key[open] == '{') {
                for (int close = open + 1; close < key.length; close++) {
                    if (key[close] == '}') {
                        return close > open + 1 ? Arrays.copyOfRange(key, open + 1, close) : key;
                    }
                }
                return key;
            }
        }
        return key;
    }

    /** Prefix of every key Ferry writes into a user's Redis; such keys are never replicated. */
    public static final String RESERVED_PREFIX = "__ferry:";
    private static final byte[] RESERVED_PREFIX_BYTES = RESERVED_PREFIX.getBytes(StandardCharsets.UTF_8);
    private static final String CHECKPOINT_PREFIX = RESERVED_PREFIX + "ckpt:";

    private ReplicationPolicy() {
    }

    /** Topic written only by {@code instance}'s capture agent: its change events, one partition per source shard. */
    public static String changesTopic(String instance) {
        return "ferry." + requireId(instance) + ".changes";
    }

    /** The instance whose changes topic {@code topic} is, if it is one. */
    public static Optional<String> changesTopicOrigin(String topic) {
        if (!topic.startsWith("ferry.") || !topic.endsWith(".changes")) {
            return Optional.empty();
        }
        String id = topic.substring("ferry.".length(), topic.length() - ".changes".length());
        return id.matches("[A-Za-z0-9][A-Za-z0-9_-]{0,62}") ? Optional.of(id) : Optional.empty();
    }

    /** Compacted topic holding {@code instance}'s capture position, written transactionally with the events. */
    public static String offsetsTopic(String instance) {
        return "ferry." + requireId(instance) + ".offsets";
    }

    /** Records that {@code applier}'s apply agent could not apply. */
    public static String deadLetterTopic(String applier) {
        return "ferry." + requireId(applier) + ".deadletters";
    }

    /** Conflicts detected by {@code applier}'s apply agent. */
    public static String conflictsTopic(String applier) {
        return "ferry." + requireId(applier) + ".conflicts";
    }

    /**
     * Transactional ids per capture shard. The capture alternates between them, so a transaction never
     * waits on the previous one's commit markers (Kafka answers CONCURRENT_TRANSACTIONS and retries
     * after 20 ms). A new capture opens every lane, which fences the old capture on all of them.
     */
    public static final int CAPTURE_LANES = 2;

    /**
     * Kafka transactional.id of {@code instance}'s capture, lane {@code lane} (0 to {@link #CAPTURE_LANES} - 1).
     * The ids are fixed, so a second capture fences the first. Lane 0 keeps the name from before lanes existed.
     * Every id starts with {@code ferry-capture-<instance>-}, which is the prefix a Kafka ACL grants.
     */
    public static String captureTransactionalId(String instance, int shard, int lane) {
        if (lane < 0 || lane >= CAPTURE_LANES) {
            throw new IllegalArgumentException("capture lane " + lane + " is not in 0.." + (CAPTURE_LANES - 1));
        }
        String id = "ferry-capture-" + requireId(instance) + "-" + shard;
        return lane == 0 ? id : id + "." + lane; // '.' never occurs in ids, so no other instance's id can match
    }

    /** Consumer group of {@code applier}'s apply agent (offsets committed for visibility; Redis holds the truth). */
    public static String applyGroup(String applier) {
        return "ferry-apply-" + requireId(applier);
    }

    /** Key of the compacted offsets record for one shard. */
    public static String positionKey(String instance, int shard) {
        return requireId(instance) + "/" + shard;
    }

    /**
     * Redis key where {@code applier} records the last Kafka offset applied from {@code origin}'s
     * partition. Written in the same MULTI/EXEC as the commands, it is both the exactly-once marker and
     * the origin tag the local capture recognises.
     */
    public static byte[] checkpointKey(String origin, int partition) {
        return (CHECKPOINT_PREFIX + requireId(origin) + ":" + partition).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Checkpoint of {@code origin}'s partition for the keys of one Redis Cluster slot: {@code slotTag} is a
     * hash tag whose slot is that slot, so the checkpoint and the keys it covers can share one MULTI/EXEC.
     * On a cluster target each slot's batches write their own such key; {@link #checkpointKey} then holds
     * the offset every slot has applied (where a restart resumes).
     */
    public static byte[] slotCheckpointKey(String origin, int partition, String slotTag) {
        return (CHECKPOINT_PREFIX + "{" + requireSlotTag(slotTag) + "}:" + requireId(origin) + ":" + partition)
                .getBytes(StandardCharsets.UTF_8);
    }

    /** A slot's hash tag (see the resp module's {@code HashSlot.tag}): letters and digits, never braces. */
    private static String requireSlotTag(String slotTag) {
        if (!isSlotTag(slotTag)) {
            throw new IllegalArgumentException("slot tag '" + slotTag + "' must be letters and digits");
        }
        return slotTag;
    }

    private static boolean isSlotTag(String text) {
        return !text.isEmpty() && text.chars().allMatch(Character::isLetterOrDigit);
    }

    /** Whether {@code key} is a per-slot checkpoint ({@link #slotCheckpointKey}); its slot is the key's own hash slot. */
    public static boolean isSlotCheckpointKey(byte[] key) {
        byte[] prefix = (CHECKPOINT_PREFIX + "{").getBytes(StandardCharsets.UTF_8);
        return key != null && key.length > prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length)
                && checkpointName(key).isPresent();
    }

    /**
     * SCAN MATCH patterns of every checkpoint of {@code origin}'s partitions: the whole partition's and, on a
     * cluster target, each slot's (Redis globs take braces literally).
     */
    public static List<byte[]> checkpointPatterns(String origin) {
        String id = requireId(origin);
        return List.of((CHECKPOINT_PREFIX + id + ":*").getBytes(StandardCharsets.UTF_8),
                (CHECKPOINT_PREFIX + "{*}:" + id + ":*").getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Redis list where {@code applier}'s apply agent keeps the error records (dead letters, conflicts) it
     * learned from a committed MULTI/EXEC's replies until Kafka has acknowledged them: the checkpoint
     * has already passed their events, so a crash must not lose them.
     */
    public static byte[] findingsJournalKey(String applier) {
        return (RESERVED_PREFIX + "findings:" + requireId(applier)).getBytes(StandardCharsets.UTF_8);
    }

    /** True for keys Ferry owns (never published, never applied from a peer). */
    public static boolean isReservedKey(byte[] key) {
        return key != null && key.length >= RESERVED_PREFIX_BYTES.length
                && Arrays.equals(key, 0, RESERVED_PREFIX_BYTES.length, RESERVED_PREFIX_BYTES, 0, RESERVED_PREFIX_BYTES.length);
    }

    /**
     * The origin a checkpoint key names, if {@code key} is a checkpoint key. A block that writes one is a
     * write the local apply agent made on behalf of that origin: the echo check.
     */
    public static Optional<String> checkpointOrigin(byte[] key) {
        return checkpointName(key).flatMap(rest -> {
            int colon = rest.lastIndexOf(':');
            return colon > 0 ? Optional.of(rest.substring(0, colon)) : Optional.empty();
        });
    }

    /** {@code <origin>:<partition>} of a checkpoint key, whole-instance or per slot ({@code {tag}:} left out). */
    private static Optional<String> checkpointName(byte[] key) {
        if (!isReservedKey(key)) {
            return Optional.empty();
        }
        String text = new String(key, StandardCharsets.UTF_8);
        if (!text.startsWith(CHECKPOINT_PREFIX)) {
            return Optional.empty();
        }
        String rest = text.substring(CHECKPOINT_PREFIX.length());
        if (rest.startsWith("{")) {
            int close = rest.indexOf("}:");
            if (close < 2) {
                return Optional.empty();
            }
            rest = rest.substring(close + 2);
        }
        return Optional.of(rest);
    }

    /**
     * The peer partition a checkpoint key names, if {@code key} is one: the capture moves its
     * {@link AppliedVector} to the value written there.
     */
    public static Optional<Map.Entry<String, Integer>> checkpointPartition(byte[] key) {
        return checkpointName(key).flatMap(rest -> {
            int colon = rest.lastIndexOf(':');
            if (colon <= 0) {
                return Optional.empty();
            }
            try {
                return Optional.of(Map.entry(rest.substring(0, colon), Integer.parseInt(rest.substring(colon + 1))));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        });
    }

    /** Instance ids become topic names and Redis keys: keep them to a safe alphabet. */
    public static String requireId(String instance) {
        if (instance == null || !instance.matches("[A-Za-z0-9][A-Za-z0-9_-]{0,62}")) {
            throw new IllegalArgumentException("instance id '" + instance
                    + "' must be 1-63 characters of letters, digits, '-' or '_', starting with a letter or digit");
        }
        return instance;
    }
}
