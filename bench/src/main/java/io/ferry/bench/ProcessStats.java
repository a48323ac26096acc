package io.ferry.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time and memory of a process on Linux, read from /proc by PID. */
final class ProcessStats {

    /** USER_HZ: the unit of utime and stime in /proc/<pid>/stat; 100 on every Linux we run on. */
    private static final double TICKS_PER_SECOND = 100.0;

    private ProcessStats() {
    }

    /** User plus system CPU seconds the process has used so far, or NaN if it is gone. */
    static double cpuSeconds(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // the command name (field 2) may contain spaces: count fields after its closing ')'
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long utime = Long.parseLong(fields[11]);
            long stime = Long.parseLong(fields[12]);
            return (utime + stime) / TICKS_PER_SECOND;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /**
     * The whole machine's CPU time so far (first line of /proc/stat), in ticks: busy (user, nice, system,
     * irq, softirq), idle (idle, iowait) and steal: time the hypervisor gave this VM's CPUs to someone else.
     */
    record MachineCpu(long busy, long idle, long steal) {

        static MachineCpu now() {
            try {
                String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
                long[] v = new long[9];
                for (int i = 1; i < Math.min(f.length, 9); i++) {
                    v[i] = Long.parseLong(f[i]);
                }
                return new MachineCpu(v[1] + v[2] + v[3] + v[6] + v[7], v[4] + v[5], v[8]);
            } catch (IOException | RuntimeException e) {
                return new MachineCpu(0, 0, 0);
            }
        }

        /** Busy and stolen shares of the time since {@code before}, in percent; NaN when unknown. */
        Share since(MachineCpu before) {
            double total = (busy - before.busy) + (idle - before.idle) + (steal - before.steal);
            if (total <= 0) {
                return new Share(Double.NaN, Double.NaN);
            }
            return new Share(100 * (busy - before.busy) / total, 100 * (steal - before.steal) / total);
        }

        record Share(double busyPercent, double stealPercent) {
        }
    }

    /** Peak resident set size (VmHWM) in bytes, or -1 if the process is gone. */
    static long peakRssBytes(long pid) {
        return statusKilobytes(pid, "VmHWM:") * 1024;
    }

    /** Current resident set size (VmRSS) in bytes, or -1 if the process is gone. */
    static long rssBytes(long pid) {
        return statusKilobytes(pid, "VmRSS:") * 1024;
    }

    private static long statusKilobytes(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.substring(field.length()).replace("kB", "").trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone
        }
        return -1;
    }
}
