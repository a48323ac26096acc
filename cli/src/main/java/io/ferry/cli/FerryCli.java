package io.ferry.cli;

import io.ferry.cli.agent.ApplyCommand;
import io.ferry.cli.agent.CaptureCommand;
import io.ferry.cli.inspect.InspectCommand;
import io.ferry.cli.lifecycle.JoinCommand;
import io.ferry.cli.lifecycle.LeaveCommand;
import io.ferry.cli.monitor.MonitorCommand;
import io.ferry.cli.status.StatusCommand;
import io.ferry.cli.verify.VerifyCommand;
import java.io.PrintWriter;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code ferry}: one command for every role (capture, apply, monitor) and for operating a mesh. */
@Command(name = "ferry", mixinStandardHelpOptions = true, versionProvider = FerryCli.Version.class,
        description = "Kafka-backed active-active replication for Redis.",
        subcommands = {CaptureCommand.class, ApplyCommand.class, InspectCommand.class, StatusCommand.class,
                VerifyCommand.class, JoinCommand.class, LeaveCommand.class, MonitorCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Start with: ferry demo   (a local three-instance mesh)",
                "Docs: README.md, sections \"Run the demo\" and \"Operate\"."})
public final class FerryCli implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command: capture, apply, inspect, status, verify, join, leave, monitor or demo");
    }

    public static void main(String[] args) {
        io.ferry.topology.FatalErrors.install();
        configureLogging(args);
        System.exit(execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs one command line; returns the exit code instead of exiting (tests call this). */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = commandLine();
        cli.setOut(out);
        cli.setErr(err);
        return cli.execute(args);
    }

    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new FerryCli());
        java.util.ServiceLoader.load(AddOnCommand.class).forEach(cli::addSubcommand);
        if (!cli.getSubcommands().containsKey("demo")) {
            cli.addSubcommand(new DemoNotInThisJar());
        }
        // every command's --help lists the exit codes, from their one description
        java.util.Map<String, String> exitCodes = new java.util.LinkedHashMap<>();
        ExitCode.MEANINGS.forEach((code, meaning) -> exitCodes.put(Integer.toString(code), meaning.replace("`", "")));
        cli.getCommandSpec().usageMessage().exitCodeListHeading("%nExit codes:%n").exitCodeList(exitCodes);
        cli.getSubcommands().values().forEach(sub -> sub.getCommandSpec().usageMessage()
                .exitCodeListHeading("%nExit codes:%n").exitCodeList(exitCodes));
        cli.setExecutionExceptionHandler((failure, commandLine, parseResult) -> {
            OperatorException problem = FailureClassifier.classify(failure);
            PrintWriter err = commandLine.getErr();
            err.println("ferry " + commandLine.getCommandName() + ": " + problem.getMessage());
            if (problem.exitCode() == ExitCode.FAILED) {
                failure.printStackTrace(err);
            }
            err.flush();
            return problem.exitCode();
        });
        return cli;
    }

    /**
     * slf4j-simple is configured by system properties, which must be set before the first logger exists.
     * Agents log at info; the commands an operator reads at a terminal keep Kafka's client chatter out.
     */
    static void configureLogging(String[] args) {
        String command = Arrays.stream(args).filter(a -> !a.startsWith("-")).findFirst().orElse("");
        boolean agent = command.equals("capture") || command.equals("apply") || command.equals("monitor");
        defaultProperty("org.slf4j.simpleLogger.defaultLogLevel", agent ? "info" : "warn");
        defaultProperty("org.slf4j.simpleLogger.showDateTime", "true");
        defaultProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSZ");
        defaultProperty("org.slf4j.simpleLogger.log.org.apache.kafka", agent ? "warn" : "error");
        defaultProperty("org.slf4j.simpleLogger.log.kafka", agent ? "warn" : "error");
        defaultProperty("org.slf4j.simpleLogger.log.state.change.logger", "error");
        defaultProperty("org.slf4j.simpleLogger.log.io.netty", "warn");
        defaultProperty("org.slf4j.simpleLogger.log.io.lettuce", agent ? "warn" : "error");
        defaultProperty("org.slf4j.simpleLogger.log.com.moilioncircle", "warn");
        // a peer topic that does not exist yet is reported by the agents; the client would warn every second
        defaultProperty("org.slf4j.simpleLogger.log.org.apache.kafka.clients.NetworkClient", "error");
    }

    private static void defaultProperty(String name, String value) {
        if (System.getProperty(name) == null) {
            System.setProperty(name, value);
        }
    }

    /** {@code ferry demo} where ferry-demo.jar is not on the classpath (the image): say where the demo is. */
    @Command(name = "demo", header = "Start a local three-instance mesh (needs ferry-demo.jar: run ./ferry demo from a source checkout).")
    static final class DemoNotInThisJar implements java.util.concurrent.Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            throw new OperatorException(ExitCode.BAD_CONFIG, "the demo is not part of this jar (the image's ferry.jar carries no Kafka "
                    + "broker and no Redis binaries). Run it from a source checkout: ./ferry demo (built by mvn package, "
                    + "it adds demo/target/ferry-demo.jar).");
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = FerryCli.class.getPackage().getImplementationVersion();
            return new String[] {"ferry " + (version == null ? "(development build)" : version)};
        }
    }
}
