package io.ferry.capture.stream;

/** Whether a single-key DEL/UNLINK in the replication stream was the source evicting the key. */
@FunctionalInterface
public interface EvictionCheck {

    /** Never an eviction: every DEL that is not an expiry is published. */
    EvictionCheck NONE = (db, key, startOffset, endOffset) -> false;

    /**
     * @param startOffset replication offset of the command's first byte
     * @param endOffset   replication offset of its last byte
     */
    boolean evicted(int db, byte[] key, long startOffset, long endOffset) throws InterruptedException;
}
