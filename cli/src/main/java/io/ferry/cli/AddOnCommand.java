package io.ferry.cli;

/**
 * A {@code ferry} subcommand shipped in a jar of its own and found on the classpath (ServiceLoader,
 * {@code META-INF/services/io.ferry.cli.AddOnCommand}): {@code ferry demo} lives in ferry-demo.jar, so
 * the image's ferry.jar carries no Kafka broker and no Redis binaries. Implementations are picocli
 * {@code @Command}s.
 */
public interface AddOnCommand {
}
