package io.ferry.resp;

import java.io.IOException;

/** Redis answered a handshake step with an error (wrong password, not a master yet, loading, …). */
public final class RedisReplyException extends IOException {

    public RedisReplyException(String message) {
        super(message);
    }

    /** The ACL user may not run the step: retrying cannot help until an operator grants it. */
    public boolean accessDenied() {
        return getMessage() != null && getMessage().contains("NOPERM");
    }
}
