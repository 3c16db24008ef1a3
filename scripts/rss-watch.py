#!/usr/bin/env python3
"""Peak memory of every process whose executable path contains PATTERN, split the way
docs/PERFORMANCE.md ("Edge footprint") reports it: VmHWM, and the peaks of RssAnon and RssFile
(sampled from /proc/PID/status every 50 ms; the kernel keeps VmHWM exactly, the split is sampled).

    scripts/rss-watch.py PATTERN [--seconds N]    e.g. scripts/rss-watch.py edge-deb/usr/bin/tributary-edge

Runs until interrupted (or N seconds), printing one line per process when it exits or at the end.
It watches the whole machine: give a pattern only your run's binary has (its unpacked path, e.g. under
bench.py's temporary directory), or other sessions' agents and every `status` call are counted too.
"""
import argparse
import os
import time


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[k] = int(v.split()[0])
    return out


def report(pid, peaks):
    mib = lambda kb: f"{kb / 1024:.1f}"
    print(f"pid {pid}: VmHWM {mib(peaks.get('VmHWM', 0))} MiB, peak RssAnon {mib(peaks.get('RssAnon', 0))} MiB, "
          f"peak RssFile {mib(peaks.get('RssFile', 0))} MiB, last VmRSS {mib(peaks.get('last', 0))} MiB", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pattern")
    ap.add_argument("--seconds", type=float, default=0)
    args = ap.parse_args()
    watched = {}
    end = time.time() + args.seconds if args.seconds else None
    try:
        while end is None or time.time() < end:
            for name in os.listdir("/proc"):
                if name.isdigit() and int(name) not in watched and int(name) != os.getpid():
                    try:
                        if args.pattern in os.readlink(f"/proc/{name}/exe"):
                            watched[int(name)] = {}
                    except OSError:
                        pass
            for pid, peaks in list(watched.items()):
                try:
                    s = status(pid)
                except OSError:
                    report(pid, peaks)
                    del watched[pid]
                    continue
                for k in ("VmHWM", "RssAnon", "RssFile"):
                    peaks[k] = max(peaks.get(k, 0), s.get(k, 0))
                peaks["last"] = s.get("VmRSS", 0)
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    for pid, peaks in watched.items():
        report(pid, peaks)


if __name__ == "__main__":
    main()
