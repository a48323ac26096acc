package io.ferry.cli;

/** The exit codes of every ferry command; scripts and Kubernetes can tell the causes apart. */
public final class ExitCode {

    public static final int OK = 0;
    /** Something unexpected; the message and stack trace say what. */
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

    private ExitCode() {
    }
}
