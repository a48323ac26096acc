package io.ferry.bench;

import java.util.Arrays;

/**
 * When each progress marker was sent. A marker {@code SET bench:seq <n>} written on the same
 * connection after item n-1 means: once the target shows n, every item before n is visible there.
 */
final class MarkerLog {

    private long[] seqs = new long[4096];
    private long[] sentNanos = new long[4096];
    private int size;

    synchronized void add(long seq, long nanos) {
        if (size == seqs.length) {
            seqs = Arrays.copyOf(seqs, size * 2);
            sentNanos = Arrays.copyOf(sentNanos, size * 2);
        }
        seqs[size] = seq;
        sentNanos[size] = nanos;
        size++;
    }

    /** Sequence of the last marker sent, or -1. */
    synchronized long lastSeq() {
        return size == 0 ? -1 : seqs[size - 1];
    }

    /**
     * How long writes after {@code seenSeq} have been waiting at {@code now}: the age of the first marker
     * sent with a higher sequence (0 if none was sent, nothing is outstanding).
     */
    synchronized long lagNanos(long seenSeq, long now) {
        int i = Arrays.binarySearch(seqs, 0, size, seenSeq + 1);
        int first = i >= 0 ? i : -i - 1;
        // markers may repeat a sequence when nothing was written in between: take the earliest
        while (first > 0 && seqs[first - 1] > seenSeq) {
            first--;
        }
        return first >= size ? 0 : Math.max(0, now - sentNanos[first]);
    }
}
