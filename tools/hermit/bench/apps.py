#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Applications with less local memory, on the compute node of the test
cluster, against the swap a user would pick instead of Hermit.

  ./build_kernel.sh bench apps [--quick] [--apps A,...] [--tiers T,...]
                               [--fractions P,...] [--runs N]

Each application first runs with no limit and no swap ("local", 100 %),
which measures its peak (the cgroup's memory.peak); then in a memory cgroup
whose memory.high (--limit max: memory.max) is each fraction (default 75,
50, 25 %) of that peak, once per tier:
  hermit-rdma  Hermit over RDMA as it ships: offloaded reclaim on, the
               default prefetch
  fastswap     the same kernel the way Fastswap ran: one offload core, a
               TLB flush per page, a fixed headroom (fs_headroom_adapt=N),
               the kernel's cluster readahead
  nvmeof-rdma  stock swap on NVMe-oF/RDMA over the same link
  zram-lz4     zram with lz4
  disk         the node's virtio swap disk
  hermit-dram  (only when named) Hermit's DRAM backend, offloaded reclaim on
(Hermit's offloaded reclaim is off in nvmeof-rdma, zram-lz4 and disk.)
memory.high is the default because under memory.max the slow tiers of
this cluster are OOM-killed (sort at 50 % on NVMe-oF/RDMA was). The application
runs on CPU 0; CPU 1 has the offload thread and the load generator.
Applications: sort (sort_bench: generate, sort in two threads, merge,
check; the metric is its runtime), redis (redis-server holding 4 KiB
values, then redis-benchmark GETs of random keys: throughput, p50, p99),
memcached (memcached holding 4 KiB values, then mc_load's 90 % GET / 10 %
SET of Zipf-popular keys, each value checked: throughput, p50, p99,
p99.9) and faas (faas_bench: 8 functions, each a process in a memory
cgroup of its own below the limited one, started cold, then invoked warm
with a skew: cold and warm latency; the metric is the time of the warm
invocations).

Every run is repeated (default 3 times) and the table shows the median with
the spread (min-max). Performance is normalized to the local run: runtime
local / runtime for sort, throughput / local throughput for redis. Each row
records where its pages went (Hermit's stored pages, pswpout of a swap
device); a row whose pages went elsewhere than its tier, or nowhere, is
invalid: shown as such, left out of the medians and the plots.

Output in build/bench/apps/ (--out DIR): apps.md (the table), apps.csv (every run),
apps-perf.png (normalized performance against the local fraction, one
line per tier, a panel per application) and apps-APP-latency.png for
redis (p50, p99), memcached (p50, p99, p99.9) and faas (warm p50, p99)
per tier and fraction. --quick: one run, 50 % only, small
sizes. Numbers come from QEMU/TCG guests: compare the tiers with each
other, not with real hardware.

On two real machines, both running this kernel, as root on the compute
node (this machine), with the memory node's address in the environment:
  HERMIT_BENCH_SERVER=IP HERMIT_SWAPDEV=/dev/sdX9 \
      tools/hermit/bench/apps.py [options]
HERMIT_SWAPDEV is a spare block device of at least 512 MiB whose contents
are destroyed (every tier but zram swaps on it: Hermit's fallback tier and
the disk tier); all other swap is turned off while the suite runs. The
memory node must serve both remote tiers first, as root, from
tools/testing/selftests/hermit:
  modprobe brd rd_size=524288 rd_nr=1
  HERMIT_IP=IP ./nvmeof_swap.sh export   # NVMe-oF/RDMA on IP:4420
  ./rdma_server.sh start 1G              # Hermit's memory server
The selftests are built here (or taken from SELFTESTS=DIR, already
built); the applications run on CPU 0 and the load generators on CPU 1.
"""

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fault_latency import TOP, cell, commit, start_servers, vm  # noqa: E402

TIERS = ("hermit-rdma", "fastswap", "nvmeof-rdma", "zram-lz4", "disk")
# Not run by default: Hermit's DRAM backend (Hermit's mm path without the
# RDMA transport).
EXTRA = ("hermit-dram",)
HERMIT_TIERS = ("hermit-rdma", "fastswap", "hermit-dram")
APPS = {"sort": {"size": 16, "quick": 8, "metric": "seconds", "higher": False},
        "redis": {"size": 16, "quick": 8, "metric": "rps", "higher": True},
        "memcached": {"size": 16, "quick": 8, "metric": "rps", "higher": True},
        "faas": {"size": 16, "quick": 8, "metric": "seconds", "higher": False}}
# The latency percentiles of an application: (column, label), for the
# table's p50 and p99 columns and its latency plot.
LATENCY = {"redis": (("p50_ms", "p50"), ("p99_ms", "p99")),
           "memcached": (("p50_ms", "p50"), ("p99_ms", "p99"), ("p999_ms", "p99.9")),
           "faas": (("warm_p50_ms", "warm p50"), ("warm_p99_ms", "warm p99"))}
SYSTEM_PYTHON = "/usr/bin/python3"
FIELDS = ("seconds", "rps", "p50_ms", "p99_ms", "p999_ms", "max_ms", "misses",
          "cold_p50_ms", "cold_max_ms", "warm_p50_ms", "warm_p99_ms", "warm_max_ms",
          "peak_kib", "stored", "pswpout", "store_failed")


def placement(tier, v):
    """Why a run's pages did not go where its tier says, or None."""
    stored, out = int(v.get("stored", 0)), int(v.get("pswpout", 0))
    if tier == "local":
        return None if stored == out == 0 else f"local run swapped ({stored}/{out})"
    if stored == 0 and out == 0:
        return "nothing swapped: the limit did not bite"
    if tier in HERMIT_TIERS and out:
        return f"{out} pages to a swap device"
    if tier not in HERMIT_TIERS and stored:
        return f"{stored} pages to Hermit"
    return None


def run_one(c, mem, tier, app, size, pct, peak, limit):
    rc, out, err = c.node("compute").run(
        os.path.join(HERE, "apps_guest.sh"),
        [tier, app, size, pct, peak, limit, mem.ip], 3600)
    line = next((x for x in out.splitlines() if x.startswith("result: ")), None)
    if rc != 0 or not line:
        why = [x for x in (out + err).splitlines() if x.startswith("FAIL: ")]
        return None, f"exit {rc}: " + (why[-1][6:] if why else " ".join(
            (out + err).split())[-300:])
    f = line.split()[3:]
    return dict(zip(f[0::2], f[1::2])), None


class LocalNode:
    """This machine as the compute node, for 'bench apps' on real machines."""

    def __init__(self, selftests):
        self.selftests = selftests

    def run(self, script, args=(), timeout=600):
        env = dict(os.environ, SELFTESTS=self.selftests, HERMIT_BENCH_DIR=HERE)
        try:
            r = subprocess.run(["bash", script] + list(args), env=env, timeout=timeout,
                               capture_output=True, text=True)
        except subprocess.TimeoutExpired as e:
            return None, str(e.stdout or ""), str(e.stderr or "")
        return r.returncode, r.stdout, r.stderr


class Machines:
    """The two real machines: this one computes, HERMIT_BENCH_SERVER's
    address serves (the memory node's servers are started by hand)."""

    def __init__(self, server, selftests):
        # Only the memory node's address is used: its servers run already.
        self.nodes = {"compute": LocalNode(selftests),
                      "memory": types.SimpleNamespace(ip=server)}

    def node(self, name):
        return self.nodes[name]


def on_machines(body):
    """Run body on two real machines (see the top of this file)."""
    server, dev = os.environ["HERMIT_BENCH_SERVER"], os.environ.get("HERMIT_SWAPDEV")
    if not dev or not os.path.exists(dev):
        print("bench: HERMIT_SWAPDEV must name a spare block device (its contents are "
              "destroyed)", file=sys.stderr)
        return 1
    if os.geteuid() != 0:
        print("bench: run as root on the compute node", file=sys.stderr)
        return 1
    tmp = None
    sel = os.environ.get("SELFTESTS")
    if not sel:
        tmp = tempfile.mkdtemp(prefix="hermit-bench-")
        try:
            sel = vm.build_selftests(vm.SELFTESTS, os.path.join(tmp, "selftests"))
        except vm.ClusterError as e:
            print(f"bench: {e}", file=sys.stderr)
            return 1
    try:
        return body(Machines(server, os.path.abspath(sel)))
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def plots(out_dir, apps, tiers, fracs, norm, lat):
    """PNG plots; returns their paths (none when matplotlib is missing)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: no matplotlib (apt-get install python3-matplotlib): no plots")
        return []
    paths = []
    fig, axes = plt.subplots(1, len(apps), figsize=(5 * len(apps), 4), squeeze=False)
    for ax, app in zip(axes[0], apps):
        for tier in tiers:
            pts = [(p, norm[(app, tier, p)]) for p in [100] + fracs
                   if norm.get((app, tier, p)) is not None]
            if len(pts) > 1:
                ax.plot([p for p, _ in pts], [y for _, y in pts], marker="o", label=tier)
        ax.set_title(f"{app} ({APPS[app]['metric']})")
        ax.set_xlabel("local memory, % of peak")
        ax.set_ylabel("performance / local")
        ax.invert_xaxis()
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    paths.append(os.path.join(out_dir, "apps-perf.png"))
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    for app in (x for x in apps if x in LATENCY):
        fig, ax = plt.subplots(figsize=(7, 4))
        colors = ("tab:blue", "tab:red", "tab:purple")
        x = 0
        ticks = []
        for p in fracs:
            for tier in tiers:
                v = lat.get((app, tier, p))
                if v:
                    # Tallest first, so that each shorter bar shows in front.
                    for i in reversed(range(len(v))):
                        ax.bar(x, v[i], color=colors[i],
                               label=LATENCY[app][i][1] if not ticks else None)
                    ticks.append((x, f"{tier}\n{p}%"))
                    x += 1
            x += 1
        ax.set_xticks([t for t, _ in ticks], [s for _, s in ticks], fontsize="x-small",
                      rotation=60)
        ax.set_yscale("log")
        ax.set_ylabel("latency, ms (log)")
        ax.set_title(f"{app}: " + ", ".join(label for _, label in LATENCY[app]) +
                     " by tier and local fraction")
        ax.legend()
        fig.tight_layout()
        paths.append(os.path.join(out_dir, f"apps-{app}-latency.png"))
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)
    return paths


def main():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        # Debian's python3-matplotlib is for Debian's python3; this one
        # (pyenv, a venv) may not see it.
        if os.path.exists(SYSTEM_PYTHON) and os.path.realpath(sys.executable) != \
                os.path.realpath(SYSTEM_PYTHON):
            os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, os.path.abspath(__file__)] + sys.argv[1:])
    ap = argparse.ArgumentParser(prog="build_kernel.sh bench apps",
                                 description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--apps", default=",".join(APPS))
    ap.add_argument("--tiers", default=",".join(TIERS))
    ap.add_argument("--fractions")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--limit", choices=("high", "max"), default="high")
    ap.add_argument("--out", default=os.path.join(TOP, "build", "bench", "apps"))
    a = ap.parse_args()
    apps = a.apps.split(",")
    tiers = a.tiers.split(",")
    fracs = a.fractions or ("50" if a.quick else "75,50,25")
    runs = a.runs if a.runs is not None else (1 if a.quick else 3)
    bad = ([x for x in apps if x not in APPS] + [x for x in tiers if x not in TIERS + EXTRA] +
           [x for x in fracs.split(",") if not x.isdigit() or not 0 < int(x) < 100])
    if bad or runs < 1:
        ap.error(f"bad values {bad or runs}: apps from {','.join(APPS)}, tiers from "
                 f"{','.join(TIERS + EXTRA)}, fractions 1-99, runs >= 1")
    fracs = [int(x) for x in fracs.split(",")]
    out_dir = a.out
    os.makedirs(out_dir, exist_ok=True)
    machines = "HERMIT_BENCH_SERVER" in os.environ
    rev = commit()

    def body(c):
        mem = c.node("memory")
        if not machines and not start_servers(mem):
            return 1
        rows = {}       # (app, tier, pct) -> [values of the valid runs]
        invalid = {}    # (app, tier, pct) -> [why]
        peak = {}
        guest = None
        plan = [("local", 100)] + [(t, p) for p in fracs for t in tiers]
        with open(os.path.join(out_dir, "apps.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["commit", "run", "app", "size_mib", "tier", "local_pct",
                        "valid"] + list(FIELDS))
            for run in range(1, runs + 1):
                for app in apps:
                    size = str(APPS[app]["quick" if a.quick else "size"])
                    for tier, pct in plan:
                        if tier != "local" and app not in peak:
                            break
                        v, err = run_one(c, mem, tier, app, size, str(pct),
                                         str(peak.get(app, 0)), a.limit)
                        key = (app, tier, pct)
                        if v is None:
                            invalid.setdefault(key, []).append(err)
                            print(f"run {run} {app} {tier} {pct}%: failed: {err}", flush=True)
                            continue
                        if tier == "local" and app not in peak:
                            peak[app] = int(v["peak_kib"])
                        why = placement(tier, v)
                        w.writerow([rev, run, app, size, tier, pct, "no" if why else "yes"] +
                                   [v.get(k, "") for k in FIELDS])
                        f.flush()
                        if why:
                            invalid.setdefault(key, []).append(why)
                        else:
                            rows.setdefault(key, []).append(v)
                        guest = guest or (f"{int(v.get('mem_kib', 0)) // 1024} MiB, "
                                          f"{v.get('cpus', '?')} CPUs")
                        print(f"run {run} {app} {tier} {pct}%: " +
                              " ".join(f"{k} {v[k]}" for k in FIELDS if k in v) +
                              (f" INVALID: {why}" if why else ""), flush=True)
        norm = {}
        lat = {}
        md = [f"# bench apps: kernel commit {rev}, "
              f"{'compute node' if machines else 'guest'} {guest}, memory.{a.limit}, "
              f"{runs} run(s), median (min-max)", "",
              "| app | tier | local % | metric | perf / local | p50 ms | p99 ms | "
              "peak MiB | stored | pswpout | valid |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
        for app in apps:
            m = APPS[app]["metric"]
            base = [float(v[m]) for v in rows.get((app, "local", 100), [])]
            b = statistics.median(base) if base else None
            for tier, pct in plan:
                vals = rows.get((app, tier, pct), [])
                why = invalid.get((app, tier, pct), [])
                if not vals:
                    md.append(f"| {app} | {tier} | {pct} | - | - | - | - | - | - | - | "
                              f"no: {'; '.join(why) or 'not run'} |")
                    continue
                ms = [float(v[m]) for v in vals]
                perf = None
                if b:
                    rel = [(b / x if not APPS[app]["higher"] else x / b) for x in ms if x]
                    perf = statistics.median(rel) if rel else None
                    for t in ([tier] if tier != "local" else tiers):
                        if perf is not None:
                            norm[(app, t, pct)] = perf
                if app in LATENCY and tier != "local":
                    lat[(app, tier, pct)] = [statistics.median(float(v[k]) for v in vals)
                                             for k, _ in LATENCY[app]]

                def col(k):
                    return cell([float(v[k]) for v in vals if k in v])
                p50, p99 = (LATENCY[app][0][0], LATENCY[app][1][0]) if app in LATENCY \
                    else (None, None)
                md.append(" | ".join([
                    f"| {app}", tier, str(pct), f"{m} {cell(ms)}",
                    "-" if perf is None else f"{perf:.2f}" if perf >= 0.1 else f"{perf:.3f}",
                    col(p50) if p50 else "-", col(p99) if p99 else "-",
                    cell([int(v["peak_kib"]) // 1024 for v in vals]),
                    col("stored"), col("pswpout"),
                    "yes" if not why else f"{len(why)} run(s) invalid: {'; '.join(why)}"])
                    + " |")
        md += ["", f"peaks (KiB): {peak}; sizes (MiB): " +
               ", ".join(f"{x} {APPS[x]['quick' if a.quick else 'size']}" for x in apps)]
        for p in plots(out_dir, apps, tiers, fracs, norm, lat):
            md.append(f"plot: {p}")
        text = "\n".join(md) + "\n"
        with open(os.path.join(out_dir, "apps.md"), "w") as f:
            f.write(text)
        print("\n" + text + f"csv: {os.path.join(out_dir, 'apps.csv')}")
        ok = all(rows.get((x, t, p)) for x in apps for t, p in plan)
        return 0 if ok else 1
    return on_machines(body) if machines else vm.run_bench(body)


if __name__ == "__main__":
    sys.exit(main())
