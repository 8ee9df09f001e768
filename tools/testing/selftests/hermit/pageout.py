#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Push N pages out with MADV_PAGEOUT, read them back, verify each one.

  pageout.py N     prints where the pages went (Hermit's stats and the
                   disk's pswpout) and exits 1 if any page came back wrong
"""
import mmap
import sys
import time

MADV_PAGEOUT = 21
PAGE = 4096


def counters():
    c = {}
    for path in ("/sys/kernel/debug/hermit/stats", "/proc/vmstat"):
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(" ")
                if v.strip().isdigit():
                    c[k] = int(v)
    return c


def settle():
    """Stores complete asynchronously: wait until none is in flight."""
    for _ in range(600):
        try:
            with open("/sys/kernel/debug/hermit/stores_in_flight") as f:
                if f.read().strip() == "0":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.1)
    raise SystemExit("stores still in flight after 60 s")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    m = mmap.mmap(-1, n * PAGE)
    for i in range(n):
        m[i * PAGE:i * PAGE + 8] = (i * 2654435761 + 1).to_bytes(8, "little")
    c0 = counters()
    m.madvise(MADV_PAGEOUT)
    settle()
    c1 = counters()
    bad = sum(m[i * PAGE:i * PAGE + 8] != (i * 2654435761 + 1).to_bytes(8, "little")
              for i in range(n))
    d = {k: c1.get(k, 0) - c0.get(k, 0) for k in ("stored", "refused_unavailable",
                                                   "pswpout")}
    print(" ".join(f"{k} {v}" for k, v in d.items()), f"bad {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
