package io.ferry.topology;

/**
 * Makes an agent process exit when a thread dies of an {@link Error} (OutOfMemoryError,
 * StackOverflowError, a linkage error) instead of living on with that thread gone: a capture whose
 * reading thread died would otherwise answer /healthz forever while publishing nothing. Exiting lets
 * Kubernetes (or whoever runs it) restart it, and the agents resume from their committed positions.
 * The launchers also pass {@code -XX:+ExitOnOutOfMemoryError}, which covers threads that catch their
 * own errors (Kafka's clients log and swallow them).
 */
public final class FatalErrors {

    /** Exit code after a fatal error: the same as any unexpected failure. */
    public static final int EXIT_CODE = 1;

    private FatalErrors() {
    }

    public static void install() {
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((thread, failure) -> {
            if (failure instanceof Error) {
                // No logger, no formatting beyond this: memory may be exhausted.
                System.err.println("ferry: fatal " + failure + " in thread " + thread.getName() + "; exiting so the agent is restarted");
                System.err.flush();
                Runtime.getRuntime().halt(EXIT_CODE);
            } else if (previous != null) {
                previous.uncaughtException(thread, failure);
            } else {
                System.err.print("Exception in thread \"" + thread.getName() + "\" ");
                failure.printStackTrace();
            }
        });
    }
}
