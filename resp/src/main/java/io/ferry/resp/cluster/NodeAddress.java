package io.ferry.resp.cluster;

import io.ferry.topology.RedisEndpoint;

/** One cluster node's address as the cluster announces it. */
public record NodeAddress(String host, int port) {

    /** "host:port" as MOVED and ASK give it (an IPv6 host has colons; an empty host means "the node that answered"). */
    public static NodeAddress parse(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0 || colon == hostPort.length() - 1) {
            throw new IllegalArgumentException("not host:port: '" + hostPort + "'");
        }
        return new NodeAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    /** This node reached with the seed's TLS setting and credentials: every node of a cluster shares them. */
    public RedisEndpoint endpoint(RedisEndpoint seed) {
        return new RedisEndpoint(host, port, seed.tls(), seed.username(), seed.password());
    }

    @Override
    public String toString() {
        return host + ":" + port;
    }
}
