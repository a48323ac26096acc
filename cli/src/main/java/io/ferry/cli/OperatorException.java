package io.ferry.cli;

/**
 * A failure the operator can fix: the message says what went wrong, where (which address, which
 * instance) and what to check; {@link #exitCode()} is one of {@link ExitCode}'s.
 */
public class OperatorException extends RuntimeException {

    private final int exitCode;

    public OperatorException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public OperatorException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
