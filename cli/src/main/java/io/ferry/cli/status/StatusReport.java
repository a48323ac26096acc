package io.ferry.cli.status;

import io.ferry.cli.ExitCode;
import java.io.PrintWriter;

/**
 * What {@code ferry status} prints, as it is found, plus the exit code it ends with: the most specific
 * problem seen (an unreachable server outranks a topic that does not exist yet).
 */
final class StatusReport {

    private final PrintWriter out;
    private int exitCode = ExitCode.OK;

    StatusReport(PrintWriter out) {
        this.out = out;
    }

    void line(String text) {
        out.println(text);
        out.flush();
    }

    /** A problem in the mesh: printed with a marker and remembered for the exit code. */
    void problem(String indent, int code, String message) {
        out.println(indent + "! " + message);
        out.flush();
        if (exitCode == ExitCode.OK || rank(code) > rank(exitCode)) {
            exitCode = code;
        }
    }

    int exitCode() {
        return exitCode;
    }

    private static int rank(int code) {
        return switch (code) {
            case ExitCode.MISSING_TOPIC -> 1;
            case ExitCode.FAILED -> 2;
            case ExitCode.REDIS_UNREACHABLE, ExitCode.KAFKA_UNREACHABLE -> 3;
            case ExitCode.ACCESS_DENIED -> 4;
            default -> 0;
        };
    }
}
