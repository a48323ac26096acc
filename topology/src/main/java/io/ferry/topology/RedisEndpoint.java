package io.ferry.topology;

/**
 * Where an instance's Redis is and how to log in. The password is a secret: it never appears in
 * {@link #toString()}, logs or records. For a Redis Cluster ({@code cluster}), host and port name one
 * seed node; the nodes are discovered from it and share its TLS setting and credentials.
 */
public record RedisEndpoint(String host, int port, boolean tls, String username, String password, boolean cluster) {

    /** A standalone Redis. */
    public RedisEndpoint(String host, int port, boolean tls, String username, String password) {
        this(host, port, tls, username, password, false);
    }

    /** A form safe to log: scheme, user and address, never the password. */
    @Override
    public String toString() {
        return (tls ? "rediss://" : "redis://") + (username != null ? username + "@" : "") + host + ":" + port
                + (password != null ? " (password set)" : "") + (cluster ? " (cluster)" : "");
    }

    /** A Lettuce/redis URI with credentials, for clients; never log it. */
    public String uriWithCredentials() {
        StringBuilder uri = new StringBuilder(tls ? "rediss://" : "redis://");
        if (password != null) {
            if (username != null) {
                uri.append(java.net.URLEncoder.encode(username, java.nio.charset.StandardCharsets.UTF_8));
            }
            uri.append(':').append(java.net.URLEncoder.encode(password, java.nio.charset.StandardCharsets.UTF_8)).append('@');
        }
        return uri.append(host).append(':').append(port).toString();
    }
}
