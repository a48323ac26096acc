package io.ferry.localmesh;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The redis-server executables Ferry is tested with: the system's (Debian's 7.0) and the 6.2 build
 * shipped inside the embedded-redis jar (Linux x86-64 only).
 */
public record RedisBinary(Path path, String label) {

    private static final String EMBEDDED_62 = "redis-server-6.2.6-v5-linux-amd64";

    /** redis-server from PATH (apt-get install redis-server), if installed. */
    public static Optional<RedisBinary> system() {
        String pathEnv = System.getenv().getOrDefault("PATH", "/usr/bin:/usr/local/bin");
        return Stream.of(pathEnv.split(":"))
                .map(dir -> Path.of(dir, "redis-server"))
                .filter(Files::isExecutable)
                .findFirst()
                .map(p -> new RedisBinary(p, "system"));
    }

    /** The 6.2 binary from the embedded-redis jar, extracted once into the temp directory. */
    public static RedisBinary embedded62() {
        Path target = Path.of(System.getProperty("java.io.tmpdir"), "ferry-" + EMBEDDED_62);
        if (!Files.isExecutable(target)) {
            try (InputStream in = RedisBinary.class.getClassLoader().getResourceAsStream(EMBEDDED_62)) {
                if (in == null) {
                    throw new IllegalStateException(EMBEDDED_62 + " is not on the classpath (com.github.codemonstur:embedded-redis)");
                }
                Path tmp = Files.createTempFile(target.getParent(), "ferry-redis", ".tmp");
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                tmp.toFile().setExecutable(true);
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot extract the embedded redis-server", e);
            }
        }
        return new RedisBinary(target, "embedded-6.2");
    }

    /** The system's redis-server when installed, else the embedded 6.2 one. */
    public static RedisBinary preferred() {
        return system().orElseGet(RedisBinary::embedded62);
    }
}
