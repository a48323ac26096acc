package io.ferry.cli;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The exit codes of every ferry command (the agents included); scripts and Kubernetes can tell the
 * causes apart. {@link #MEANINGS} is the one description: {@code --help} prints it and a test keeps the
 * README's table equal to it.
 */
public final class ExitCode {

    public static final int OK = 0;
    /** Something unexpected, or an agent that stopped by itself; the message (and stack trace) says what. */
    public static final int FAILED = 1;
    /** Bad command line or mesh file; the message lists every problem. */
    public static final int BAD_CONFIG = 2;
    public static final int REDIS_UNREACHABLE = 3;
    public static final int KAFKA_UNREACHABLE = 4;
    /** A Ferry topic does not exist yet: the agent that creates it has not run. */
    public static final int MISSING_TOPIC = 5;
    /** Redis or Kafka refused the credentials or the ACLs do not allow what Ferry needs. */
    public static final int ACCESS_DENIED = 6;
    /** The mesh is not in the state the command needs (an agent still running, a peer not caught up); the message says what to do. */
    public static final int NOT_READY = 7;

    /** Each code's meaning, in order. */
    public static final Map<Integer, String> MEANINGS = meanings();

    private ExitCode() {
    }

    private static Map<Integer, String> meanings() {
        Map<Integer, String> m = new LinkedHashMap<>();
        m.put(OK, "done");
        m.put(FAILED, "unexpected failure, or an agent stopped by itself (fenced, gap in Kafka)");
        m.put(BAD_CONFIG, "bad command line or mesh file");
        m.put(REDIS_UNREACHABLE, "cannot reach an instance's Redis");
        m.put(KAFKA_UNREACHABLE, "cannot reach Kafka");
        m.put(MISSING_TOPIC, "a Ferry topic does not exist yet");
        m.put(ACCESS_DENIED, "Redis or Kafka refused the credentials or ACLs");
        m.put(NOT_READY, "the mesh is not ready for the command (`join`, `leave`: an agent still running, a peer not caught up)");
        return java.util.Collections.unmodifiableMap(m);
    }
}
