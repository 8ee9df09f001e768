#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Prefetching: swap-in of sequential, strided and random scans on the
compute node of the test cluster, with swap readahead off, cluster-based,
VMA-based or (Hermit only) by Hermit's stride detector, its windows started
by the faulting task or by a worker (trend-async), for Hermit over RDMA
and the NVMe-oF/RDMA
baseline over the same link (or any tier of fault-latency).

  ./build_kernel.sh bench prefetch [MiB [ORDER,... [PREFETCH,... [LOCAL%,... [TIER,... [RUNS [high|max]]]]]]]

Defaults: 32 MiB; seq,stride,rand; off,cluster,vma,trend,trend-async
(trend: Hermit tiers only); 50,25 % of it local
(memory.high by default: under memory.max NVMe-oF/RDMA swap is
OOM-killed on these guests); hermit-rdma,nvmeof-rdma; 3 runs. Offloaded
reclaim is off.
Each cell is the median with the spread (min-max) of the runs; each row
says where its pages went (Hermit's stored pages, a device's pswpout and
pswpin), and the readahead accuracy (the kernel's swap_ra_hit / swap_ra,
the same arithmetic for every tier; for Hermit also its own counters).
Runs go to build/bench/prefetch.csv. Numbers come from QEMU/TCG guests:
compare them with each other (the ratios are printed), not with real
hardware. Hermit reads every readahead window asynchronously.
"""

import csv
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fault_latency as fl  # noqa: E402

ORDERS = ("seq", "stride", "rand")
PREFETCH = ("off", "cluster", "vma", "trend", "trend-async")
LOCAL = ("50", "25")
TIERS = ("hermit-rdma", "nvmeof-rdma")
COLS = (("faults", "major"), ("median_us", "median us"), ("p99_us", "p99 us"),
        ("read_mibps", "in MiB/s"), ("accuracy", "accuracy"),
        ("stored", "stored"), ("pswpout", "pswpout"), ("pswpin", "pswpin"),
        ("prefetch_swapin", "h.prefetch"), ("prefetch_late", "h.late"),
        ("prefetch_wasted", "h.wasted"))
RAW = ("faults", "median_us", "p99_us", "read_mibps", "stored", "pswpout",
       "store_failed", "pswpin", "swap_ra", "swap_ra_hit", "ondemand_swapin",
       "prefetch_swapin", "hiton_swap_cache", "prefetch_late", "prefetch_wasted")


def med(rows, k):
    v = [r[k] for r in rows if k in r]
    return statistics.median(v) if v else None


def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "-"


def parse_list(arg, allowed, default):
    if arg is None:
        return list(default)
    items = arg.split(",")
    return items if items and all(i in allowed for i in items) else None


def main():
    a = sys.argv[1:] + [None] * 7
    mib, runs, limit = a[0] or "32", a[5] or "3", a[6] or "high"
    orders = parse_list(a[1], ORDERS, ORDERS)
    prefetch = parse_list(a[2], PREFETCH, PREFETCH)
    local = parse_list(a[3], [str(i) for i in range(5, 100)], LOCAL)
    tiers = parse_list(a[4], fl.MODES + fl.EXTRA, TIERS)
    if (not mib.isdigit() or int(mib) < 4 or not runs.isdigit() or int(runs) < 1 or
            None in (orders, prefetch, local, tiers) or limit not in ("high", "max")):
        print("usage: prefetch [MiB [ORDER,... [PREFETCH,... [LOCAL%,... [TIER,... [RUNS [high|max]]]]]]] "
              f"(MiB >= 4, ORDER of {','.join(ORDERS)}, PREFETCH of {','.join(PREFETCH)}, "
              f"LOCAL% 5-99, TIER of {','.join(fl.MODES + fl.EXTRA)}, RUNS >= 1)", file=sys.stderr)
        return 2
    runs = int(runs)
    out_dir = os.path.join(fl.TOP, "build", "bench")
    os.makedirs(out_dir, exist_ok=True)
    csv_path = os.path.join(out_dir, "prefetch.csv")
    rev = fl.commit()
    # The stride detector is Hermit's: no trend row for another tier.
    keys = [(o, p, lp, t) for lp in local for o in orders for p in prefetch for t in tiers
            if not p.startswith("trend") or t.startswith("hermit-")]

    def body(c):
        mem = c.node("memory")
        if not fl.start_servers(mem):
            return 1
        results = {k: [] for k in keys}
        failed = {k: [] for k in keys}
        guest = None
        with open(csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["commit", "run", "order", "prefetch", "local_pct", "tier", "mib"] +
                       list(RAW))
            for run in range(1, runs + 1):
                for k in keys:
                    o, p, lp, t = k
                    rc, out, err = c.node("compute").run(
                        os.path.join(HERE, "fault_latency_guest.sh"),
                        [t, mib, mem.ip, limit, o, p, lp], 1800)
                    line = next((x for x in out.splitlines()
                                 if x.startswith("result: ")), None)
                    if rc != 0 or not line:
                        why = (out + err).strip()
                        failed[k].append("oom_kill" if "oom_kill 1" in why else f"exit {rc}")
                        print(f"run {run} {' '.join(k)}: failed (exit {rc}): {why[-300:]}",
                              flush=True)
                        continue
                    f_ = line.split()[2:]
                    v = dict(zip(f_[0::2], f_[1::2]))
                    guest = guest or (f"{int(v.get('mem_kib', 0)) // 1024} MiB, "
                                      f"{v.get('cpus', '?')} CPUs, {v.get('kernel', '?')}")
                    r = {x: float(v[x]) for x in RAW if x in v}
                    if r.get("swap_ra"):
                        r["accuracy"] = round(r.get("swap_ra_hit", 0) / r["swap_ra"], 2)
                    results[k].append(r)
                    w.writerow([rev, run, o, p, lp, t, mib] + [v.get(x, "") for x in RAW])
                    print(f"run {run} {o} {p} {lp}% {t}: " + " ".join(
                        f"{x} {r.get(x, '-')}" for x, _ in COLS), flush=True)
        print(f"\nprefetch: {mib} MiB, memory.{limit} at LOCAL% of it, offloaded reclaim off, "
              f"{runs} runs, median (min-max)")
        print(f"kernel commit {rev}; guest: {guest}; csv: {csv_path}\n")
        print(f"{'order':6} {'prefetch':11} {'local':5} {'tier':12} " +
              " ".join(f"{h:>14}" for _, h in COLS))
        for k in keys:
            rows = results[k]
            head = f"{k[0]:6} {k[1]:11} {k[2] + '%':5} {k[3]:12}"
            if failed[k]:
                print(f"{head} failed in {len(failed[k])} of {runs} runs: "
                      f"{', '.join(sorted(set(failed[k])))}")
                if not rows:
                    continue
            print(f"{head} " + " ".join(
                f"{fl.cell([r[x] for r in rows if x in r]):>14}" for x, _ in COLS))
        print("\nratios (medians): PREFETCH vs off on the same tier (major faults, "
              "swap-in MiB/s, p99); hermit-rdma vs nvmeof-rdma (swap-in MiB/s, median)")
        for lp in local:
            for o in orders:
                for p in prefetch:
                    parts = []
                    for t in tiers:
                        off = results.get((o, "off", lp, t))
                        cur = results.get((o, p, lp, t))
                        if p != "off" and off and cur:
                            parts.append(
                                f"{t} faults {ratio(med(cur, 'faults'), med(off, 'faults'))}"
                                f" in {ratio(med(cur, 'read_mibps'), med(off, 'read_mibps'))}"
                                f" p99 {ratio(med(cur, 'p99_us'), med(off, 'p99_us'))}")
                    h = results.get((o, p, lp, "hermit-rdma"))
                    # Trend against the baseline's own default, VMA readahead.
                    n = results.get((o, "vma" if p.startswith("trend") else p, lp,
                                     "nvmeof-rdma"))
                    if h and n:
                        parts.append(
                            f"hermit/nvmeof in {ratio(med(h, 'read_mibps'), med(n, 'read_mibps'))}"
                            f" median {ratio(med(h, 'median_us'), med(n, 'median_us'))}")
                    if parts:
                        print(f"  {o:6} {p:11} {lp + '%':5} " + "; ".join(parts))
        return 0 if all(results[k] for k in keys) else 1
    return fl.vm.run_bench(body)


if __name__ == "__main__":
    sys.exit(main())
