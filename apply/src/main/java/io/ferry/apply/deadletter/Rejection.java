package io.ferry.apply.deadletter;

import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;

/**
 * One thing from a peer's topic that could not be applied, before it becomes a dead-letter record.
 *
 * @param kafkaOffset offset of the record in the peer's changes topic
 * @param reason      short class for metrics and filtering: WRONGTYPE, OOM, EXECABORT, UNDECODABLE, …
 * @param error       full error text
 * @param event       the decoded event, null when it could not be decoded
 * @param command     the failing command, when one is to blame
 * @param record      the raw record value, for undecodable records
 */
public record Rejection(long kafkaOffset, String reason, String error, ChangeEvent event, Command command, byte[] record) {
}
