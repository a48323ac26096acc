package io.ferry.apply.redis;

import java.util.List;

/**
 * Replies to one {@code MULTI; body…; EXEC}: what Redis answered while queueing each body command
 * ({@code +QUEUED} or an error) and the EXEC reply (an array with one result per body command, or an
 * error such as EXECABORT).
 */
public record TransactionReply(List<Object> queued, Object exec) {

    /** One result per body command; only valid when {@link #committed()}. */
    @SuppressWarnings("unchecked")
    public List<Object> results() {
        return (List<Object>) exec;
    }

    /** EXEC answered nil: a key WATCHed before MULTI changed, nothing of the body ran. */
    public boolean aborted() {
        return Reply.isNil(exec);
    }

    public boolean committed() {
        return exec instanceof List<?>;
    }

    /** The EXEC error, null when committed. */
    public RedisError execError() {
        return exec instanceof RedisError e ? e : null;
    }
}
