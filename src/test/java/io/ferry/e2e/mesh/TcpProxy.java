package io.ferry.e2e.mesh;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A TCP proxy on loopback for fault injection between agents and servers: it forwards every accepted
 * connection to {@code targetPort}, can hold each chunk of bytes back by a latency (both directions,
 * order kept), and can cut every connection open at that moment (both sockets closed at once, as a
 * dropped network path looks to both ends). New connections are accepted again right after a cut.
 */
final class TcpProxy implements AutoCloseable {

    private static final byte[] END = new byte[0];

    private final String name;
    private final int targetPort;
    private final ServerSocket listener;
    private final List<Link> links = new CopyOnWriteArrayList<>();
    private volatile long latencyNanos;
    private volatile boolean closed;

    /** Listens on {@code listenPort} (0: any free port) and forwards to 127.0.0.1:{@code targetPort}. */
    TcpProxy(String name, int listenPort, int targetPort) {
        this.name = name;
        this.targetPort = targetPort;
        try {
            listener = new ServerSocket();
            listener.setReuseAddress(true);
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), listenPort));
        } catch (IOException e) {
            throw new IllegalStateException("proxy " + name + " cannot listen on port " + listenPort, e);
        }
        Thread acceptor = new Thread(this::acceptLoop, "proxy-" + name + "-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    String name() {
        return name;
    }

    /** Every byte from now on is delivered {@code millis} later than it arrived (0: at once). */
    void latency(long millis) {
        latencyNanos = TimeUnit.MILLISECONDS.toNanos(millis);
    }

    /** Closes every connection open now on both sides; returns how many there were. */
    int cutAll() {
        List<Link> open = List.copyOf(links);
        open.forEach(Link::close);
        return open.size();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket();
                try {
                    server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 2000);
                } catch (IOException refused) {
                    client.close(); // the server is down: the client sees a refused-like close, as without a proxy
                    continue;
                }
                client.setTcpNoDelay(true);
                server.setTcpNoDelay(true);
                Link link = new Link(client, server);
                links.add(link);
                link.start();
            } catch (IOException e) {
                if (!closed) {
                    System.out.println("proxy " + name + ": accept failed: " + e);
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        cutAll();
    }

    /** One proxied connection: a reader and a delayed writer per direction. */
    private final class Link {
        private final Socket client;
        private final Socket server;

        Link(Socket client, Socket server) {
            this.client = client;
            this.server = server;
        }

        void start() throws IOException {
            pipe(client.getInputStream(), server.getOutputStream(), "up");
            pipe(server.getInputStream(), client.getOutputStream(), "down");
        }

        private void pipe(InputStream in, OutputStream out, String direction) {
            BlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
            Thread reader = new Thread(() -> {
                byte[] buffer = new byte[64 * 1024];
                try {
                    for (int n; (n = in.read(buffer)) >= 0; ) {
                        queue.add(new Chunk(System.nanoTime() + latencyNanos, Arrays.copyOf(buffer, n)));
                    }
                } catch (IOException ignored) {
                    // cut or closed by a peer
                }
                queue.add(new Chunk(System.nanoTime() + latencyNanos, END));
            }, "proxy-" + name + "-" + direction + "-read");
            Thread writer = new Thread(() -> {
                try {
                    while (true) {
                        Chunk chunk = queue.take();
                        long wait = chunk.dueNanos - System.nanoTime();
                        if (wait > 0) {
                            TimeUnit.NANOSECONDS.sleep(wait); // the injected latency
                        }
                        if (chunk.bytes == END) {
                            break;
                        }
                        out.write(chunk.bytes);
                        out.flush();
                    }
                } catch (IOException | InterruptedException ignored) {
                    // cut or closed by a peer
                }
                close(); // one side is gone: so is the path, as a proxy or a load balancer would have it
            }, "proxy-" + name + "-" + direction + "-write");
            reader.setDaemon(true);
            writer.setDaemon(true);
            reader.start();
            writer.start();
        }

        void close() {
            links.remove(this);
            try {
                client.close();
            } catch (IOException ignored) {
                // already closed
            }
            try {
                server.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }

    private record Chunk(long dueNanos, byte[] bytes) {
    }
}
