package io.ferry.apply.conflict;

/**
 * Classes of conflict. The first group is found by comparing causality: two writes to one key, neither
 * of whose origins had applied the other. The second is seen in a reply at the moment a peer's write is
 * applied.
 */
public enum ConflictType {
    /** Whole-value writes (SET, DEL, RESTORE, APPEND, SETRANGE, …) on one key: the value swap of seed 000. */
    VALUE,
    /** List pushes, pops and inserts: order or elements differ by arrival order. */
    LIST_ORDER,
    /** INCR family on both sides: the effects commute, both are kept everywhere (report only). */
    COUNTER,
    /** Hash, set and sorted-set members: commute on distinct members, not on the same one. */
    MEMBER,
    /** A TTL change (EXPIRE, PERSIST, PEXPIREAT, …) against a write or another TTL change. */
    TTL,
    /** A delete against a write. */
    DELETE_WRITE,
    /** SETNX, SET NX|XX, HSETNX, MSETNX, RENAMENX from a peer did not take effect here, or was concurrent. */
    CONDITIONAL_WRITE,
    /** Writes of different types on one key (WRONGTYPE here, or concurrent writes of two types). */
    TYPE_CLASH,
    /** A peer's snapshot RESTORE met an existing key here; it is not overwritten (the seeds' rule). */
    RESTORE_EXISTS,
    /**
     * A key a peer's resync snapshot did not replace here, because writes that peer had not applied touched it; the
     * peer may have changed it in its gap too, so it is asked to re-publish the key once it has applied them.
     */
    RESYNC_GUARDED
}
