package io.ferry.capture.psync;

/** Bytes from Redis that are not valid RESP: the connection cannot be trusted any more. */
public final class RespProtocolException extends RuntimeException {

    public RespProtocolException(String message) {
        super(message);
    }
}
