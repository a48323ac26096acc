package io.ferry.capture.snapshot;

/**
 * One key of a source's RDB, as RESTORE takes it.
 *
 * @param payload        DUMP payload (value plus RDB version and checksum), readable while the key is handed on
 * @param expireAtMillis absolute expiry in Unix ms, 0 when the key does not expire
 */
public record SnapshotKey(int db, byte[] key, DumpPayload payload, long expireAtMillis) {
}
