package io.ferry.resp;

/** Bytes from Redis that are not valid RESP: the connection cannot be trusted any more. */
public final class RespProtocolException extends RuntimeException {

    public RespProtocolException(String message) {
        super(message);
    }
}
