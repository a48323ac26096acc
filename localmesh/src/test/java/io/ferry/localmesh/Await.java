package io.ferry.localmesh;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Tests poll for a condition with a deadline; they do not sleep and hope. */
public final class Await {

    private Await() {
    }

    public static void until(Duration timeout, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Throwable last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
            } catch (RuntimeException e) {
                last = e;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
            }
        }
        throw new AssertionError("timed out after " + timeout + " waiting for " + what, last);
    }

    /** Polls until {@code value} equals {@code expected}; the failure shows the last value seen. */
    public static <T> void equal(Duration timeout, String what, T expected, Supplier<T> value) {
        Object[] last = new Object[1];
        try {
            until(timeout, what, () -> {
                last[0] = value.get();
                return expected.equals(last[0]);
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ": expected <" + expected + "> but last saw <" + last[0] + ">", e.getCause());
        }
    }
}
