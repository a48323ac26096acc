package io.ferry.apply.conflict;

/** Kinds of conflict an apply agent sees at the moment it applies a peer's write. */
public enum ConflictType {
    /** SETNX, SET NX|XX, HSETNX, MSETNX, RENAMENX from a peer did not take effect here. */
    CONDITIONAL_WRITE,
    /** A peer's write met a key of another type here (WRONGTYPE); the command is also dead-lettered. */
    TYPE_CLASH,
    /** A peer's snapshot RESTORE met an existing key here; it is not overwritten (the seeds' rule). */
    RESTORE_EXISTS
}
