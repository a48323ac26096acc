package io.ferry.localmesh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Free TCP ports on loopback, for servers started by the demo and the tests. They are picked below the
 * kernel's ephemeral range, which every outgoing connection (Kafka and Redis clients) takes its local port
 * from: a port handed out here and bound a few seconds later is then never taken by such a connection in
 * the meantime. A Redis Cluster node's bus port (port + 10000) stays below that range too.
 *
 * <p>A port is handed out once: this JVM walks the range from a random start, and a reservation file per
 * port keeps other JVMs on the machine (a second test fork, a demo) from handing it out before its
 * server binds it. Reservations older than {@link #RESERVATION_LIFETIME} are taken to be stale.
 */
public final class FreePorts {

    private static final int LOWEST = 10_000;
    private static final int BUS_OFFSET = 10_000;
    private static final int HIGHEST = Math.max(LOWEST + 1000, ephemeralStart() - BUS_OFFSET - 1);
    private static final Duration RESERVATION_LIFETIME = Duration.ofMinutes(30);
    private static final Path RESERVATIONS = Path.of(System.getProperty("java.io.tmpdir"), "ferry-ports");
    private static final AtomicInteger CURSOR = new AtomicInteger(ThreadLocalRandom.current().nextInt(LOWEST, HIGHEST + 1));

    private FreePorts() {
    }

    public static int next() {
        for (int attempt = 0; attempt <= HIGHEST - LOWEST; attempt++) {
            int port = LOWEST + Math.floorMod(CURSOR.getAndIncrement() - LOWEST, HIGHEST - LOWEST + 1);
            if (reserve(port) && bindable(port)) {
                return port;
            }
        }
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free loopback port", e);
        }
    }

    /** True if no other live reservation holds {@code port}; a machine without a writable temp dir reserves nothing. */
    private static boolean reserve(int port) {
        Path file = RESERVATIONS.resolve(Integer.toString(port));
        try {
            Files.createDirectories(RESERVATIONS);
            try {
                Files.createFile(file);
                return true;
            } catch (java.nio.file.FileAlreadyExistsException taken) {
                if (Files.getLastModifiedTime(file).toInstant().isAfter(Instant.now().minus(RESERVATION_LIFETIME))) {
                    return false;
                }
                Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(Instant.now()));
                return true;
            }
        } catch (IOException e) {
            return true;
        }
    }

    private static boolean bindable(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The first port of the kernel's ephemeral range (Linux), 32768 where it cannot be read. */
    private static int ephemeralStart() {
        try {
            // readString would return one byte of this /proc file (it reports size 0)
            String range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim();
            return Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 32_768;
        }
    }
}
