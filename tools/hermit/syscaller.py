#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Hermit's counters through its system calls, as the original Hermit's
tools/hermit/syscaller.py shows them.

  python3 tools/hermit/syscaller.py            the prefetch summary
  python3 tools/hermit/syscaller.py stats      the same, the memory cgroups'
                                               swap lines, then the rest
  python3 tools/hermit/syscaller.py reset      zero the counters (root)
  python3 tools/hermit/syscaller.py stats --json

The summary is the original's: a raw "<on-demand> <prefetch> <hits>" line,
then the three counts, the prefetch percentage (prefetched / (on-demand +
prefetched), "Precentage" spelt as the original spells it) and its
accuracy (hits / prefetched). Needs a Hermit kernel on x86_64 (system
calls 500 and 501, include/uapi/linux/hermit.h); Python standard library
only.
"""

import ctypes
import errno
import json
import os
import platform
import sys

NR_STATS, NR_RESET = 500, 501
# struct hermit_stats, in order (include/uapi/linux/hermit.h).
FIELDS = ("stored", "stored_large_folios", "loaded", "ondemand_swapin", "prefetch_swapin",
          "hiton_swap_cache", "prefetch_late", "prefetch_wasted", "prefetch_queued",
          "invalidated", "refused_disabled", "refused_no_backend", "refused_full",
          "refused_unavailable", "refused_error", "store_failed", "load_errors",
          "reloaded", "fs_queued", "fs_reclaimed_offload", "fs_offload_ns",
          "fs_reclaimed_direct", "fs_direct_reclaim_ns", "fs_waits", "fs_wait_ns",
          "pages_held", "stores_in_flight")
# The memory.stat lines shown per cgroup, where the kernel has them.
CG_KEYS = ("hermit_swpin", "hermit_swpout", "hermit_swpout_refused",
           "ondemand_swapin", "prefetch_swapin", "hiton_swap_cache",
           "hermit_reclaim_offload", "pswpin", "pswpout", "pgmajfault")
RDMA_STATS = "/sys/kernel/debug/hermit/rdma/stats"


LAT_BUCKETS = 128


class Stats(ctypes.Structure):
    _fields_ = [(f, ctypes.c_uint64) for f in FIELDS] + [
        ("fault_major_ns", ctypes.c_uint64), ("fault_minor_ns", ctypes.c_uint64),
        ("fault_major", ctypes.c_uint64 * LAT_BUCKETS),
        ("fault_minor", ctypes.c_uint64 * LAT_BUCKETS)]


def bucket_min(b):
    """The first latency (ns) of histogram bucket b (uapi/linux/hermit.h)."""
    if b < 8:
        return b if b < 4 else 4
    o = b // 4
    return (1 << o) + (b % 4) * (1 << (o - 2))


def latency(total_ns, hist):
    """Count, mean and the bucket bounds below which 50 and 99 % lie."""
    n = sum(hist)

    def pct(p):
        want, seen = (n * p + 99) // 100, 0
        for b in range(LAT_BUCKETS - 1):
            seen += hist[b]
            if seen >= want:
                return bucket_min(b + 1 if b < 4 else max(b + 1, 8))
        return bucket_min(LAT_BUCKETS - 1)
    return {"faults": n, "mean_ns": total_ns // n if n else 0,
            "p50_ns": pct(50) if n else 0, "p99_ns": pct(99) if n else 0}


def die(msg):
    print(f"syscaller: {msg}", file=sys.stderr)
    sys.exit(1)


def syscall(nr, *args):
    if platform.machine() != "x86_64":
        die(f"Hermit's system calls exist on x86_64 only, not {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    if libc.syscall(ctypes.c_long(nr), *args) == 0:
        return
    err = ctypes.get_errno()
    if err == errno.ENOSYS:
        die("this kernel has no Hermit system calls (boot the Hermit kernel)")
    if err == errno.EPERM:
        die("resetting the counters needs root (CAP_SYS_ADMIN)")
    die(f"system call {nr} failed: {os.strerror(err)}")


def read_stats():
    s = Stats()
    syscall(NR_STATS, ctypes.byref(s), ctypes.c_size_t(ctypes.sizeof(s)),
            ctypes.c_uint(0))
    out = {f: getattr(s, f) for f in FIELDS}
    out["fault_latency"] = {
        "major": latency(s.fault_major_ns, list(s.fault_major)),
        "minor": latency(s.fault_minor_ns, list(s.fault_minor))}
    return out


def ratio(a, b):
    return a / b if b else 0.0


def summary(s):
    d, p, h = s["ondemand_swapin"], s["prefetch_swapin"], s["hiton_swap_cache"]
    return [f"{d} {p} {h}",
            f"#(On-demand Swapin): {d}",
            f"#(Prefetch Swapin) : {p}",
            f"#(Hiton Swap Cache): {h}",
            f"Prefetch Precentage: {ratio(p, d + p):.2f}",
            f"Prefetch Accuracy  : {ratio(h, p):.2f}"]


def cgroups():
    """(version, path, {key: value}) of every memory cgroup with a
    memory.stat: cgroup v1 under /sys/fs/cgroup/memory, else v2."""
    v1 = "/sys/fs/cgroup/memory"
    root, ver = (v1, 1) if os.path.isdir(v1) else ("/sys/fs/cgroup", 2)
    keys = set(CG_KEYS) | {"total_" + k for k in CG_KEYS}
    for d, _, files in sorted(os.walk(root)):
        if "memory.stat" not in files:
            continue
        try:
            with open(os.path.join(d, "memory.stat")) as f:
                lines = [x.split() for x in f]
        except OSError:
            continue
        vals = {x[0]: int(x[1]) for x in lines if len(x) == 2 and x[0] in keys}
        yield ver, os.path.relpath(d, root), vals


def rdma_stats():
    try:
        with open(RDMA_STATS) as f:
            return dict(x.rstrip("\n").split(" ", 1) for x in f if " " in x)
    except OSError:
        return None


def details(s):
    refused = sum(s[k] for k in FIELDS if k.startswith("refused_"))
    off, direct = s["fs_reclaimed_offload"], s["fs_reclaimed_direct"]
    return [f"Stored pages       : {s['stored']} ({s['stored_large_folios']} large folios)",
            f"Loaded pages       : {s['loaded']}",
            f"Refused stores     : {refused} (disabled {s['refused_disabled']}, "
            f"no backend {s['refused_no_backend']}, full {s['refused_full']}, "
            f"unavailable {s['refused_unavailable']}, error {s['refused_error']})",
            f"Failed stores      : {s['store_failed']}",
            f"Load errors        : {s['load_errors']} ({s['reloaded']} pages read again)",
            f"Prefetch late      : {s['prefetch_late']}",
            f"Prefetch wasted    : {s['prefetch_wasted']}",
            f"Prefetch coverage  : {ratio(s['hiton_swap_cache'], s['hiton_swap_cache'] + s['ondemand_swapin']):.2f}",
            f"Offloaded reclaim  : {off} pages by offload threads, {direct} by the "
            f"charging tasks ({ratio(off, off + direct):.2f} offloaded)",
            f"Reclaim waits      : {s['fs_waits']} ({s['fs_wait_ns'] / 1e6:.1f} ms)",
            *[f"Fault latency {k:5}: {v['faults']} faults, mean {v['mean_ns'] / 1e3:.1f} us, "
              f"p50 < {v['p50_ns'] / 1e3:.1f} us, p99 < {v['p99_ns'] / 1e3:.1f} us"
              for k, v in s["fault_latency"].items()],
            f"Held now           : {s['pages_held']} pages "
            f"({s['pages_held'] * 4096 / 2**20:.1f} MiB), "
            f"{s['stores_in_flight']} stores in flight"]


def main(argv):
    args = [a for a in argv if a != "--json"]
    as_json = len(args) != len(argv)
    cmd = args[0] if args else ""
    if len(args) > 1 or cmd not in ("", "stats", "reset"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if cmd == "reset":
        syscall(NR_RESET, ctypes.c_uint(0))
        return 0
    s = read_stats()
    if as_json:
        d, p, h = s["ondemand_swapin"], s["prefetch_swapin"], s["hiton_swap_cache"]
        out = dict(s, prefetch_percentage=ratio(p, d + p), prefetch_accuracy=ratio(h, p),
                   prefetch_coverage=ratio(h, h + d))
        if cmd == "stats":
            out["cgroups"] = [{"version": v, "path": path, **vals}
                              for v, path, vals in cgroups()]
            out["rdma"] = rdma_stats()
        print(json.dumps(out, indent=1, sort_keys=True))
        return 0
    print("\n".join(summary(s)))
    if cmd != "stats":
        return 0
    for v, path, vals in cgroups():
        if vals:
            print(f"cgroup v{v} {path}: " +
                  " ".join(f"{k} {vals[k]}" for k in sorted(vals)))
    print("\n".join(details(s)))
    r = rdma_stats()
    if r and not r.get("server", "off").startswith("off"):
        print("RDMA               : " + ", ".join(
            f"{k} {r[k]}" for k in ("server", "writes", "reads", "write_errors",
                                    "read_errors", "lost_pages") if k in r))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
