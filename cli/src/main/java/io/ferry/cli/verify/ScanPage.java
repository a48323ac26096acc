package io.ferry.cli.verify;

import java.util.List;

/** One SCAN step's keys and where the next step starts; {@code next} is null after the last one. */
record ScanPage(List<byte[]> keys, ScanCursor next) {
}
