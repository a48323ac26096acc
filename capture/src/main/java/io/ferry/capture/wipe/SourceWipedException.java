package io.ferry.capture.wipe;

/**
 * The source came back wiped: nothing of it was published and the committed position is unchanged. The
 * capture waits for an operator (or for the source's old replication history to come back).
 */
public final class SourceWipedException extends RuntimeException {

    private final String replid;
    private final String previousReplid;
    private final String readiness;

    /**
     * @param replid         the source's new replication id (what {@code --accept-wiped-source} must name)
     * @param previousReplid the replication id of the committed position
     * @param readiness      one line for /readyz
     * @param message        the whole story for the log: what happened, what was not done, what to run
     */
    public SourceWipedException(String replid, String previousReplid, String readiness, String message) {
        super(message, null, false, false);
        this.replid = replid;
        this.previousReplid = previousReplid;
        this.readiness = readiness;
    }

    public String replid() {
        return replid;
    }

    public String previousReplid() {
        return previousReplid;
    }

    public String readiness() {
        return readiness;
    }
}
