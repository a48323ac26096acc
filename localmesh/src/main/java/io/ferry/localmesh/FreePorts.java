package io.ferry.localmesh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/**
 * Free TCP ports on loopback, for servers started by the demo and the tests. They are picked below the
 * kernel's ephemeral range, which every outgoing connection (Kafka and Redis clients) takes its local port
 * from: a port handed out here and bound a few seconds later is then never taken by such a connection in
 * the meantime. A Redis Cluster node's bus port (port + 10000) stays below that range too.
 */
public final class FreePorts {

    private static final int LOWEST = 10_000;
    private static final int BUS_OFFSET = 10_000;
    private static final int HIGHEST = Math.max(LOWEST + 1000, ephemeralStart() - BUS_OFFSET - 1);

    private FreePorts() {
    }

    public static int next() {
        java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = random.nextInt(LOWEST, HIGHEST + 1);
            if (bindable(port)) {
                return port;
            }
        }
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free loopback port", e);
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
            String range = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
            return Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 32_768;
        }
    }
}
