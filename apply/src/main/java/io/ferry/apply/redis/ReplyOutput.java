package io.ferry.apply.redis;

import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.CommandOutput;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Keeps any RESP2 reply as plain values: {@code byte[]} for status and bulk strings, {@link Long} for
 * integers, {@link Reply#NIL} for a null bulk, {@link RedisError} for errors (also nested inside an EXEC
 * array, where each element is one queued command's result) and {@code List<Object>} for arrays.
 * Errors are values, not exceptions, so one failing command never hides the others' replies.
 */
final class ReplyOutput extends CommandOutput<byte[], byte[], Object> {

    private static final class Frame {
        final List<Object> items;
        int remaining;

        Frame(int count) {
            this.items = new ArrayList<>(Math.max(count, 0));
            this.remaining = count;
        }
    }

    private final Deque<Frame> stack = new ArrayDeque<>();

    ReplyOutput() {
        super(ByteArrayCodec.INSTANCE, null);
    }

    private void add(Object value) {
        Frame top = stack.peek();
        if (top == null) {
            output = value;
            return;
        }
        top.items.add(value);
        top.remaining--;
        while (top != null && top.remaining <= 0) {
            stack.pop();
            Frame parent = stack.peek();
            if (parent == null) {
                output = top.items;
                return;
            }
            parent.items.add(top.items);
            parent.remaining--;
            top = parent;
        }
    }

    @Override
    public void multi(int count) {
        if (count < 0) {
            add(Reply.NIL);
            return;
        }
        if (count == 0) {
            add(new ArrayList<>());
            return;
        }
        stack.push(new Frame(count));
    }

    @Override
    public void set(ByteBuffer bytes) {
        if (bytes == null) {
            add(Reply.NIL);
            return;
        }
        byte[] copy = new byte[bytes.remaining()];
        bytes.get(copy);
        add(copy);
    }

    @Override
    public void setSingle(ByteBuffer bytes) {
        set(bytes);
    }

    @Override
    public void set(long integer) {
        add(integer);
    }

    @Override
    public void set(double number) {
        add(number);
    }

    @Override
    public void set(boolean value) {
        add(value ? 1L : 0L);
    }

    @Override
    public void setError(ByteBuffer error) {
        byte[] copy = new byte[error.remaining()];
        error.get(copy);
        add(new RedisError(new String(copy, java.nio.charset.StandardCharsets.UTF_8)));
    }

    @Override
    public void setError(String error) {
        add(new RedisError(error));
    }
}
