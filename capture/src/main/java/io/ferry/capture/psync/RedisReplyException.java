package io.ferry.capture.psync;

import java.io.IOException;

/** Redis answered a handshake step with an error (wrong password, not a master yet, loading, …). */
public final class RedisReplyException extends IOException {

    public RedisReplyException(String message) {
        super(message);
    }
}
