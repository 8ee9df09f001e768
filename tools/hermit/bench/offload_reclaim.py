#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Runtime of a memory-bound workload with 50% and 25% of its memory local,
offloaded reclaim off (hermit.fs_enabled=N) against on (Y), on the compute
node of the test cluster, with Hermit's DRAM backend and over RDMA to the
memory node's kernel server.

  ./build_kernel.sh bench offload-reclaim [MiB [RUNS [BACKEND,... [MODE,... [HEADROOM]]]]]

MiB (default 64) of swap_workload (sequential and random passes, every page
checksummed), with 1 and 2 application threads pinned to CPU 0, runs in a
cgroup v2 group whose memory.max is half, then a quarter, of its size; the
offload thread runs on the guest's other CPU. Each row runs RUNS times
(default 3; fewer is allowed for a try, but prints no spread worth the
name) per mode, the order of the modes turning each run. Modes: N, Y,
and Y-noflush (offload with fs_batch_flush=N: a TLB flush per dirty page, as
stock reclaim does), and Y-fixed (offload with fs_headroom_adapt=N: the
threads start fs_headroom below the limit, as in the seeds). Cells are the median with the spread (min-max); N/Y is
the median of the per-run ratios. Each row also says who reclaimed (the
offload share), how long the application stalled (direct reclaim plus
waiting for the threads; the waits also alone), how long the offload
threads were busy reclaiming, the TLB shootdowns its CPU received, its
major faults, the headroom in use at the end of the run and where the
pages went (Hermit's stored pages; pswpout), so a row that fell back to the
disk shows. The time in swap faults and two bounds explain the ratio: on
the N rows, the most any offloading could give (N without its stall), on
the others what the mode would give if the offload threads' CPU time cost
the application nothing ("free": N with the mode's stall instead of its
own). Numbers come from QEMU/TCG guests, where a TLB shootdown
flushes the whole soft TLB of the target vCPU: compare rows with each
other, not with real hardware. HEADROOM sets fs_headroom (pages, default
2048) for the runs.
"""

import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "vm"))
import cluster as vm  # noqa: E402

SCRIPT = os.path.join(vm.SELFTESTS, "offload_reclaim.sh")
BACKENDS = ("dram", "rdma")
MODES = ("N", "Y", "Y-noflush", "Y-fixed")
KEYS = ("ms", "offload", "direct", "direct_ms", "wait_ms", "waits", "timeouts", "busy_ms",
        "ipis", "majflt", "fault_ms", "pageout_ms", "stored", "pswpout", "headroom")


def cell(values, fmt="{:g}"):
    if not values:
        return "-"
    m = statistics.median(values)
    if len(values) == 1 or max(values) == min(values):
        return fmt.format(m)
    return f"{fmt.format(m)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def stall_ms(r):
    """What the application stalled on: its own reclaim and the waits."""
    return r["direct_ms"] + r["wait_ms"]


def ratios(pairs):
    return [a / b for a, b in pairs if b > 0]


def main():
    args = sys.argv[1:]
    mib = args[0] if args else "64"
    runs = args[1] if len(args) > 1 else "3"
    backends = args[2].split(",") if len(args) > 2 else list(BACKENDS)
    modes = args[3].split(",") if len(args) > 3 else list(MODES)
    headroom = args[4] if len(args) > 4 else "2048"
    if (not mib.isdigit() or not 16 <= int(mib) <= 256 or not runs.isdigit() or
            int(runs) < 1 or any(b not in BACKENDS for b in backends) or
            any(m not in MODES for m in modes) or "N" not in modes or
            not headroom.isdigit() or int(headroom) < 1):
        print("usage: offload-reclaim [MiB (16-256) [RUNS [BACKEND,... [MODE,... "
              "[HEADROOM]]]]] "
              f"(BACKEND of {','.join(BACKENDS)}; MODE of {','.join(MODES)}, N among them)",
              file=sys.stderr)
        return 2
    runs = int(runs)

    def body(c):
        mem = c.node("memory")
        if "rdma" in backends:
            rc, out, err = mem.run(os.path.join(vm.SELFTESTS, "rdma_server.sh"),
                                   ["start", "1G"], 120)
            if rc != 0:
                print(f"memory node: rdma_server.sh failed: {(out + err).strip()[-300:]}")
                return 1
        table = []
        ok = True
        for backend in backends:
            where = "dram" if backend == "dram" else f"rdma:{mem.ip}"
            for factor, local in (("2", "50%"), ("4", "25%")):
                for threads in ("1", "2"):
                    res = {m: [] for m in modes}
                    for run in range(runs):
                        order = modes[run % len(modes):] + modes[:run % len(modes)]
                        for mode in order:
                            rc, out, err = c.node("compute").run(
                                SCRIPT, ["one", where, factor, mib, threads, mode, headroom], 1800)
                            line = next((x for x in out.splitlines()
                                         if x.startswith("result: one ")), None)
                            if rc != 0 or not line:
                                print(f"{backend} {local} t{threads} {mode}: failed "
                                      f"(exit {rc}): {(out + err).strip()[-300:]}", flush=True)
                                ok = False
                                continue
                            f = line.split()[2:]
                            v = {k: int(x) for k, x in zip(f[0::2], f[1::2]) if k in KEYS}
                            v["run"] = run
                            res[mode].append(v)
                            print(f"{backend} {local} t{threads} run {run + 1} {mode}: " +
                                  " ".join(f"{k} {v.get(k, '-')}" for k in KEYS), flush=True)
                    table.append((backend, local, threads, res))
        print(f"\noffload-reclaim: {mib} MiB, swap_workload pinned to CPU 0, offload core "
              f"CPU 1, fs_headroom {headroom}, {runs} runs per mode in turns; "
              "median (min-max)\n")
        print(f"{'backend':7} {'local':>5} {'thr':>3} {'mode':9} {'runtime ms':>20} "
              f"{'N/mode':>18} {'free N/mode':>18} {'fault ms':>18} "
              f"{'offload%':>8} {'stall ms':>18} {'wait ms':>18} "
              f"{'busy ms':>18} {'pageout ms':>18} {'TLB IPIs':>20} {'majflt':>18} "
              f"{'stored':>8} {'pswpout':>8} {'headroom':>8}")
        for backend, local, threads, res in table:
            base = {r["run"]: r for r in res.get("N", [])}
            for mode in modes:
                rows = res[mode]
                if not rows:
                    print(f"{backend:7} {local:>5} {threads:>3} {mode:9} failed")
                    continue
                if mode == "N":
                    # The most offloading could give: N without its stall.
                    ratio = ratios((r["ms"], r["ms"] - stall_ms(r)) for r in rows)
                    free = []
                else:
                    pairs = [(base[r["run"]], r) for r in rows if r["run"] in base]
                    ratio = ratios((n["ms"], r["ms"]) for n, r in pairs)
                    # As if the threads' CPU time were free: N with the mode's stall.
                    free = ratios((n["ms"], n["ms"] - stall_ms(n) + stall_ms(r))
                                  for n, r in pairs)
                share = [100 * r["offload"] / max(1, r["offload"] + r["direct"]) for r in rows]
                stall = [stall_ms(r) for r in rows]
                print(f"{backend:7} {local:>5} {threads:>3} {mode:9} "
                      f"{cell([r['ms'] for r in rows]):>20} "
                      f"{cell(ratio, '{:.2f}') if mode != 'N' else '<' + cell(ratio, '{:.2f}'):>18} "
                      f"{cell(free, '{:.2f}') if mode != 'N' else '':>18} "
                      f"{cell([r.get('fault_ms', 0) for r in rows]):>18} "
                      f"{statistics.median(share):>7.0f}% {cell(stall):>18} "
                      f"{cell([r['wait_ms'] for r in rows]):>18} "
                      f"{cell([r['busy_ms'] for r in rows]):>18} "
                      f"{cell([r.get('pageout_ms', 0) for r in rows]):>18} "
                      f"{cell([r['ipis'] for r in rows]):>20} "
                      f"{cell([r['majflt'] for r in rows]):>18} "
                      f"{statistics.median([r['stored'] for r in rows]):>8g} "
                      f"{statistics.median([r['pswpout'] for r in rows]):>8g} "
                      f"{statistics.median([r.get('headroom', 0) for r in rows]):>8g}")
        print("\nN/mode above 1: the mode finished sooner than without offloading; "
              "on the N rows, <X is the most any offloading could give: N's runtime over "
              "N's runtime without its stall (direct reclaim, stores included), as if "
              "the threads took all of it at no cost to the application; free N/mode: "
              "N's runtime over N's with the mode's stall in place of its own, what the "
              "mode would give if the offload threads' CPU time cost the application "
              "nothing (on this cluster the guests' vCPUs share the host's cores). "
              "fault: time in swap faults (reclaim for their charges included). "
              "stall: direct reclaim plus waits for the offload threads; wait: the waits "
              "alone; busy: the offload threads' time reclaiming; pageout: of that, the time "
              "writing the pages they held back for one TLB flush (the rest is scanning "
              "and unmapping). stored: pages "
              "Hermit stored; pswpout: pages written to the swap disk instead (a row "
              "with pswpout fell back to it). headroom: fs_status's headroom at the end of the runs.")
        return 0 if ok else 1
    return vm.run_bench(body)


if __name__ == "__main__":
    sys.exit(main())
