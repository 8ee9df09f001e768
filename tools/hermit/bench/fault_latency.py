#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Major-fault latency and swap throughput on the compute node of the test
cluster: Hermit over RDMA (the memory node's kernel server, soft-RoCE) vs
the NVMe-oF/RDMA swap baseline (nvmet-rdma on the memory node, same link),
Hermit's DRAM backend, zram (lz4) and the virtio swap disk.

  ./build_kernel.sh bench fault-latency [MiB [MODE,... [RUNS [max|high [sleeps]]]]]

Every tier runs under the same limit, memory.max (default) or memory.high,
of a quarter of MiB, with
offloaded reclaim off, RUNS times (default 3) in turns; each cell is the
median with the spread (min-max) of the runs, and each row says where its
pages went (Hermit's stored pages, pswpout of a swap device), so a Hermit
row that fell back to the disk shows. Every run is also written as CSV to
build/bench/fault-latency-LIMIT.csv. Numbers come from QEMU/TCG guests: compare
them with each other (the ratios against nvmeof-rdma are printed), not
with real hardware.

hermit-rdma-r2 (named only) boots the second memory node mem2, gives
both memory servers 512 MiB and writes every page to both
(hermit.replicas=2); its rows are invalid unless both servers got every
page, and the ratios to hermit-rdma are the cost of two copies.

With "sleeps", only the fill (the swap-out) runs, under ftrace: where
fault_bench was off the CPU, summed by the first frames of its kernel
stack that are not the scheduler's, per tier and run.
"""

import csv
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "vm"))
import cluster as vm  # noqa: E402

SELFTESTS_HOST = vm.SELFTESTS

MODES = ("hermit-rdma", "nvmeof-rdma", "hermit-dram", "zram-lz4", "disk")
# Not run by default: Hermit over RDMA with every folio its own transfer,
# with every store to a new chunk waiting for its grant, and with two
# copies of every page (hermit.replicas=2) on the memory node and the
# second memory node mem2 (booted for it).
EXTRA = ("hermit-rdma-nomerge", "hermit-rdma-noahead", "hermit-rdma-r2")
R2 = "hermit-rdma-r2"
COLS = (("faults", "faults"), ("mean_us", "mean us"), ("median_us", "median us"),
        ("p99_us", "p99 us"), ("fill_mibps", "out MiB/s"), ("read_mibps", "in MiB/s"),
        ("stored", "stored"), ("pswpout", "pswpout"), ("store_failed", "st.failed"),
        ("grants", "grants"), ("servers_used", "servers"), ("srv_writes_min", "srv.w.min"))
# Where the CPU time of the fill (swap-out) went, in % of all CPUs.
SPLIT = (("fill_user_pct", "user"), ("fill_sys_pct", "system"),
         ("fill_softirq_pct", "softirq"), ("fill_iowait_pct", "iowait"),
         ("fill_idle_pct", "idle"))
BASE = "nvmeof-rdma"


def commit():
    try:
        return subprocess.run(["git", "-C", TOP, "describe", "--always", "--dirty"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def start_servers(mem, mem2=None):
    """The Hermit memory server and the NVMe-oF/RDMA target on the memory
    node, and a Hermit memory server on mem2 when given (both lending
    512 MiB then: mem2 has 1 GiB); False (and why, printed) when one does
    not start."""
    cap = "512M" if mem2 else "1G"
    jobs = [(mem, "rdma_server.sh", ["start", cap]), (mem, "nvmeof_swap.sh", ["export"])]
    if mem2:
        jobs.append((mem2, "rdma_server.sh", ["start", cap]))
    for node, script, args in jobs:
        rc, out, err = node.run(os.path.join(SELFTESTS_HOST, script), args, 120)
        if rc != 0:
            print(f"{node.name}: {script} failed: {(out + err).strip()[-300:]}")
            return False
    return True


def server_arg(c, mode):
    """The Hermit servers (or NVMe-oF target) a tier uses."""
    ip = c.node("memory").ip
    return f"{ip},{c.ip_of('mem2', 'compute')}" if mode == R2 else ip


def ratios(rows, base):
    """Medians of rows over base's, for latency and throughput."""
    r = []
    for k in ("median_us", "p99_us", "fill_mibps", "read_mibps"):
        a = [x[k] for x in rows if k in x]
        b = [x[k] for x in base if k in x]
        if a and b and statistics.median(b):
            r.append(f"{k} {statistics.median(a) / statistics.median(b):.2f}x")
    return ", ".join(r)


def two_copies(v):
    """Why an r2 row did not write every page to both servers, or None."""
    used, low, stored = (int(float(v.get(k, 0))) for k in
                         ("servers_used", "srv_writes_min", "stored"))
    if used < 2:
        return f"pages written to {used} server(s)"
    if low < stored:
        return f"only {low} of {stored} pages written to one server"
    return None


def cell(values):
    """Median and spread of a column's runs."""
    if not values:
        return "-"
    m = statistics.median(values)
    if len(values) == 1 or max(values) == min(values):
        return f"{m:g}"
    return f"{m:g} ({min(values):g}-{max(values):g})"


def profile(c, mem, modes, mib, runs, limit):
    """The fill alone, with where fault_bench was off the CPU."""
    print(f"fill of {mib} MiB under memory.{limit} {int(mib) // 4} MiB: time off the CPU "
          "by kernel stack (first frames not the scheduler's; 'runnable': preempted)")
    ok = True
    for run in range(1, runs + 1):
        for mode in modes:
            rc, out, err = c.node("compute").run(
                os.path.join(HERE, "fault_latency_guest.sh"),
                [mode, mib, server_arg(c, mode), limit, "seq", "vma", "25", "sleeps"], 1800)
            line = next((x for x in out.splitlines() if x.startswith("result: ")), None)
            if rc != 0 or not line:
                print(f"run {run} {mode}: failed (exit {rc}): {(out + err).strip()[-300:]}")
                ok = False
                continue
            f = line.split()
            i = f.index("sleep_ms") if "sleep_ms" in f else len(f)
            head = dict(zip(f[2:i:2], f[3:i:2]))
            rows = []
            while i + 3 < len(f) and f[i] == "sleep_ms":
                rows.append((float(f[i + 2]), int(f[i + 3]), f[i + 1]))
                i += 4
            secs = int(mib) / float(head.get("fill_mibps", "0") or "inf")
            print(f"\nrun {run} {mode}: fill {head.get('fill_mibps', '?')} MiB/s "
                  f"({secs:.1f} s), off the CPU {sum(r[0] for r in rows) / 1000:.1f} s "
                  f"in {sum(r[1] for r in rows)} switches; CPU: " +
                  " ".join(f"{k[5:-4]} {v}%" for k, v in head.items() if k.startswith("fill_")
                           and k.endswith("_pct")))
            for ms, n, k in sorted(rows, reverse=True)[:10]:
                print(f"  {ms:9.0f} ms {n:7d}  {k}")
    return 0 if ok else 1


def main():
    mib = sys.argv[1] if len(sys.argv) > 1 else "64"
    modes = sys.argv[2].split(",") if len(sys.argv) > 2 else MODES
    runs = sys.argv[3] if len(sys.argv) > 3 else "3"
    limit = sys.argv[4] if len(sys.argv) > 4 else "max"
    sleeps = sys.argv[5] if len(sys.argv) > 5 else ""
    if (not mib.isdigit() or int(mib) < 4 or not runs.isdigit() or int(runs) < 1 or
            limit not in ("max", "high") or sleeps not in ("", "sleeps") or not modes or
            any(m not in MODES + EXTRA for m in modes)):
        print("usage: fault-latency [MiB [MODE,... [RUNS [max|high [sleeps]]]]] "
              f"(MiB >= 4, RUNS >= 1, MODE one of {','.join(MODES + EXTRA)})", file=sys.stderr)
        return 2
    runs = int(runs)
    out_dir = os.path.join(TOP, "build", "bench")
    os.makedirs(out_dir, exist_ok=True)
    csv_path = os.path.join(out_dir, f"fault-latency-{limit}.csv")
    rev = commit()

    def body(c):
        mem = c.node("memory")
        mem2 = None
        if R2 in modes:
            c.start("mem2")
            mem2 = c.node("mem2")
        if not start_servers(mem, mem2):
            return 1
        if sleeps:
            return profile(c, mem, modes, mib, runs, limit)
        results = {m: [] for m in modes}
        failed = {m: [] for m in modes}
        guest = None
        with open(csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["commit", "run", "tier", "mib", "limit"] +
                       [k for k, _ in COLS + SPLIT])
            for run in range(1, runs + 1):
                for mode in modes:
                    rc, out, err = c.node("compute").run(
                        os.path.join(HERE, "fault_latency_guest.sh"),
                        [mode, mib, server_arg(c, mode), limit], 1800)
                    line = next((x for x in out.splitlines()
                                 if x.startswith("result: ")), None)
                    if rc != 0 or not line:
                        why = (out + err).strip()
                        failed[mode].append("oom_kill" if "oom_kill 1" in why else f"exit {rc}")
                        print(f"run {run} {mode}: failed (exit {rc}): {why[-300:]}", flush=True)
                        continue
                    f_ = line.split()[2:]
                    v = dict(zip(f_[0::2], f_[1::2]))
                    why = two_copies(v) if mode == R2 else None
                    if why:
                        failed[mode].append("not two copies")
                        print(f"run {run} {mode}: invalid: {why}", flush=True)
                        continue
                    guest = guest or (f"{int(v.get('mem_kib', 0)) // 1024} MiB, "
                                      f"{v.get('cpus', '?')} CPUs, {v.get('kernel', '?')}")
                    results[mode].append({k: float(v[k]) for k, _ in COLS + SPLIT
                                          if k in v})
                    w.writerow([rev, run, mode, mib, limit] +
                               [v.get(k, "") for k, _ in COLS + SPLIT])
                    print(f"run {run} {mode}: " + " ".join(
                        f"{k} {v.get(k, '-')}" for k, _ in COLS), flush=True)
        print(f"\nfault-latency: {mib} MiB under memory.{limit} {int(mib) // 4} MiB, "
              f"offloaded reclaim off, {runs} runs, median (min-max)")
        print(f"kernel commit {rev}; guest: {guest}; csv: {csv_path}\n")
        print(f"{'tier':19} " + " ".join(f"{h:>16}" for _, h in COLS))
        for mode in modes:
            rows = results[mode]
            if failed[mode]:
                print(f"{mode:19} failed in {len(failed[mode])} of {runs} runs: "
                      f"{', '.join(sorted(set(failed[mode])))}")
                if not rows:
                    continue
            print(f"{mode:19} " + " ".join(
                f"{cell([r[k] for r in rows if k in r]):>16}" for k, _ in COLS))
        print("\nswap-out (the fill): where the CPU time went, % of all CPUs")
        print(f"{'tier':19} " + " ".join(f"{h:>16}" for _, h in SPLIT))
        for mode in modes:
            rows = results[mode]
            if rows:
                print(f"{mode:19} " + " ".join(
                    f"{cell([r[k] for r in rows if k in r]):>16}" for k, _ in SPLIT))
        base = results.get(BASE)
        if base:
            print(f"\nratios to {BASE} (medians):")
            for mode in modes:
                if mode == BASE or not results[mode]:
                    continue
                print(f"  {mode:19} " + ratios(results[mode], base))
        if results.get("hermit-rdma") and results.get(R2):
            print(f"\nthe cost of two copies, {R2} to hermit-rdma (medians): " +
                  ratios(results[R2], results["hermit-rdma"]))
        return 0 if all(results[m] for m in modes) else 1
    return vm.run_bench(body)


if __name__ == "__main__":
    sys.exit(main())
