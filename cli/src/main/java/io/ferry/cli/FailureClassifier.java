package io.ferry.cli;

import io.ferry.topology.ConfigException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;

/**
 * The one place that decides which exit code a failure gets and how it is reported. Failures from
 * code that knows the address (the connectors) arrive as {@link OperatorException} already; this class
 * covers the rest.
 */
public final class FailureClassifier {

    private FailureClassifier() {
    }

    /**
     * An agent that stopped by itself: access refused (a Redis NOPERM, a Kafka authorization error) is
     * {@link ExitCode#ACCESS_DENIED} so the operator knows to grant something; anything else is FAILED.
     */
    public static OperatorException agentStopped(String role, String instance, String failure) {
        String lower = failure.toLowerCase(java.util.Locale.ROOT);
        boolean denied = failure.contains("NOPERM") || lower.contains("not authorized") || lower.contains("authorization failed");
        return new OperatorException(denied ? ExitCode.ACCESS_DENIED : ExitCode.FAILED,
                role + " agent of instance '" + instance + "' stopped: " + failure);
    }

    public static OperatorException classify(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof OperatorException operator) {
                return operator;
            }
            if (t instanceof ConfigException config) {
                return new OperatorException(ExitCode.BAD_CONFIG, config.getMessage(), config);
            }
            if (t instanceof AuthenticationException || t instanceof AuthorizationException) {
                return new OperatorException(ExitCode.ACCESS_DENIED, "Kafka refused access: " + t.getMessage()
                        + ". Check kafka.properties in the mesh file and the ACLs of Ferry's principal.", t);
            }
            if (t instanceof org.apache.kafka.common.errors.TimeoutException) {
                return new OperatorException(ExitCode.KAFKA_UNREACHABLE, "Kafka did not answer in time: " + t.getMessage()
                        + ". Check kafka.bootstrap and that the brokers are reachable.", t);
            }
        }
        return new OperatorException(ExitCode.FAILED, "unexpected failure: " + failure, failure);
    }
}
