package io.ferry.resp;

import java.nio.file.Path;

/** A bulk string of a command too big to hold in memory, written byte for byte to {@code file}. */
public record SpilledBulk(Path file, long length) {
}
