package io.ferry.localmesh;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Class-data sharing for the agents the end-to-end tests start by the hundred: a child JVM maps the classes an
 * agent loads from one archive instead of reading and verifying them again, which halves the CPU an agent takes
 * to start (about 1.8 s to 0.9 s on the test machines), on two cores shared by a dozen JVMs.
 * <p>
 * On only when the system property {@value #DIR_PROPERTY} names a directory (the end-to-end tests' pom sets it).
 * The archive is made once per classpath: the first capture and the first apply agent started list the classes
 * they load ({@code -XX:DumpLoadedClassList}); once both lists have stopped growing, one background JVM dumps them
 * into an archive ({@code -Xshare:dump}); children started from then on map it. Until it exists, or if the JVM
 * cannot use it, children start as before. CDS archives classes from jar files only and a child's classpath must
 * begin with the archive's, so children get this JVM's classpath with its jars first and its directories after.
 */
final class ClassDataSharing {

    static final String DIR_PROPERTY = "ferry.cds.dir";
    private static final Logger LOG = LoggerFactory.getLogger(ClassDataSharing.class);
    /** The roles whose classes go into the archive: the agents, started most often. */
    private static final List<String> RECORDED = List.of("capture", "apply");
    /** A class list not written to for this long is complete: its agent runs steadily. */
    private static final long SETTLED_MILLIS = 10_000;

    private static final String CLASSPATH = jarsFirst(System.getProperty("java.class.path"));
    private static final Path DIR = directory();
    private static final String KEY = DIR == null ? null : key();

    private ClassDataSharing() {
    }

    /** The classpath for a child JVM: this JVM's, jars first (see the class comment). */
    static String classpath() {
        return CLASSPATH;
    }

    /** JVM options for a child that runs {@code role} (its first argument): map the archive, or record its classes. */
    static synchronized List<String> jvmArgs(String role) {
        if (DIR == null) {
            return List.of();
        }
        Path archive = DIR.resolve(KEY + ".jsa");
        if (Files.exists(archive)) {
            return List.of("-XX:SharedArchiveFile=" + archive, "-Xshare:auto", "-Xlog:cds=off", "-Xlog:cds+dynamic=off");
        }
        dumpWhenRecorded(archive);
        if (RECORDED.contains(role)) {
            Path list = classList(role);
            try {
                Files.createFile(list); // one recorder per role, across every JVM sharing the directory
                return List.of("-XX:DumpLoadedClassList=" + list);
            } catch (FileAlreadyExistsException e) {
                return List.of();
            } catch (IOException e) {
                LOG.debug("no class list for {}: {}", role, e.toString());
            }
        }
        return List.of();
    }

    /** Starts the archive's dump in the background once every recorded list is complete (once, across JVMs). */
    private static void dumpWhenRecorded(Path archive) {
        long now = System.currentTimeMillis();
        List<Path> lists = RECORDED.stream().map(ClassDataSharing::classList).toList();
        try {
            for (Path list : lists) {
                if (!Files.exists(list) || Files.size(list) == 0 || now - Files.getLastModifiedTime(list).toMillis() < SETTLED_MILLIS) {
                    return;
                }
            }
            Files.createFile(DIR.resolve(KEY + ".dumping"));
        } catch (IOException e) {
            return; // another JVM dumps it, or the directory is unusable: children start without the archive
        }
        Thread dump = new Thread(() -> dump(lists, archive), "class-data-sharing-dump");
        dump.setDaemon(true);
        dump.start();
    }

    private static void dump(List<Path> lists, Path archive) {
        try {
            Set<String> classes = new LinkedHashSet<>();
            for (Path list : lists) {
                classes.addAll(Files.readAllLines(list, StandardCharsets.UTF_8));
            }
            Path merged = DIR.resolve(KEY + ".classlist");
            Files.write(merged, classes, StandardCharsets.UTF_8);
            Path part = DIR.resolve(KEY + ".jsa.part");
            Path log = DIR.resolve(KEY + ".dump.log");
            // the shell renames the finished archive even when this JVM has exited meanwhile (its tests were done)
            Process process = new ProcessBuilder("sh", "-c", "\"$0\" -Xshare:dump -XX:SharedClassListFile=\"$1\""
                    + " -XX:SharedArchiveFile=\"$2\" -cp \"$3\" && mv -f \"$2\" \"$4\"",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), merged.toString(), part.toString(),
                    jarsOnly(), archive.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (process.waitFor(5, TimeUnit.MINUTES) && process.exitValue() == 0 && Files.exists(archive)) {
                LOG.info("agents' class-data sharing archive ready: {}", archive);
            } else {
                process.destroyForcibly();
                LOG.info("no class-data sharing archive for the agents (see {}); they start without it", log);
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.info("no class-data sharing archive for the agents: {}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Path classList(String role) {
        return DIR.resolve(KEY + "." + role + ".classlist");
    }

    private static Path directory() {
        String dir = System.getProperty(DIR_PROPERTY);
        if (dir == null || dir.isBlank()) {
            return null;
        }
        try {
            return Files.createDirectories(Path.of(dir));
        } catch (IOException e) {
            LOG.info("{}={} unusable ({}): agents start without class-data sharing", DIR_PROPERTY, dir, e.toString());
            return null;
        }
    }

    /** Names the archive after the JVM and every jar it holds (path, size, time): a rebuilt jar makes a new one. */
    private static String key() {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(System.getProperty("java.home").getBytes(StandardCharsets.UTF_8));
            sha.update(System.getProperty("java.vm.version").getBytes(StandardCharsets.UTF_8));
            for (String jar : jarsOnly().split(File.pathSeparator)) {
                File file = new File(jar);
                sha.update((jar + ":" + file.length() + ":" + file.lastModified() + "\n").getBytes(StandardCharsets.UTF_8));
            }
            return "agents-" + HexFormat.of().formatHex(sha.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String jarsOnly() {
        return String.join(File.pathSeparator, entries(CLASSPATH, true));
    }

    private static String jarsFirst(String classpath) {
        List<String> ordered = new ArrayList<>(entries(classpath, true));
        ordered.addAll(entries(classpath, false));
        return String.join(File.pathSeparator, ordered);
    }

    private static List<String> entries(String classpath, boolean jars) {
        List<String> found = new ArrayList<>();
        for (String entry : classpath.split(File.pathSeparator)) {
            if (!entry.isEmpty() && entry.endsWith(".jar") == jars) {
                found.add(entry);
            }
        }
        return found;
    }
}
