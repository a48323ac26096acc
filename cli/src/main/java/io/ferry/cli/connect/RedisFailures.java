package io.ferry.cli.connect;

import io.ferry.cli.ExitCode;
import io.ferry.cli.OperatorException;
import io.ferry.topology.InstanceConfig;
import java.util.Locale;

/**
 * Turns a failure talking to an instance's Redis, from either Redis client, into an
 * {@link OperatorException} naming the instance, the address (never the password) and what to check:
 * refused credentials or a missing ACL permission (6), otherwise unreachable (3).
 */
public final class RedisFailures {

    private RedisFailures() {
    }

    public static OperatorException classify(InstanceConfig instance, Throwable e) {
        String where = "Redis of instance '" + instance.id() + "' at " + instance.redis();
        String error = rootMessage(e);
        String upper = error.toUpperCase(Locale.ROOT);
        if (upper.contains("WRONGPASS") || upper.contains("NOAUTH") || upper.contains("INVALID PASSWORD")
                || upper.contains("AUTH") && upper.contains("ERR")) {
            return new OperatorException(ExitCode.ACCESS_DENIED, where + " refused the credentials (" + error + "). "
                    + "Check instances." + instance.id() + ".redis.username and the password (password, passwordEnv, "
                    + "passwordFile or the environment variable " + passwordEnv(instance) + ").", e);
        }
        if (upper.contains("NOPERM")) {
            return new OperatorException(ExitCode.ACCESS_DENIED, where + ": the ACL user lacks a permission (" + error + "). "
                    + "Ferry's user needs INFO and PSYNC/REPLCONF for capture, and read/write on all keys including __ferry:* for apply.", e);
        }
        return new OperatorException(ExitCode.REDIS_UNREACHABLE, "cannot reach the " + where + " (" + error + "). "
                + "Check that redis-server is running and reachable from this host (host, port, firewall; "
                + "rediss:// if it requires TLS), or fix instances." + instance.id() + ".redis.uri.", e);
    }

    private static String passwordEnv(InstanceConfig instance) {
        return "FERRY_INSTANCES_" + instance.id().replace('-', '_').toUpperCase(Locale.ROOT) + "_REDIS_PASSWORD";
    }

    static String rootMessage(Throwable e) {
        String message = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                message = t.getMessage();
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return message == null ? e.getClass().getSimpleName() : message;
    }
}
