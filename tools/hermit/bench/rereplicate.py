#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Time to re-replicate after a memory node's loss, on the test cluster.

  ./build_kernel.sh bench rereplicate [MiB [RUNS]]

The compute node's client uses the memory node and the second memory node
mem2, both lending 512 MiB, with hermit.replicas=2. A paused workload of
MiB (default 32) under a memory.max of a quarter of it swaps its pages
out, two copies each. mem2 is powered off and booted again with an empty
memory server: the client opens a new session with it (its copies hold
nothing) and the re-replication worker copies every page back onto it
from the memory node. Each run prints

  reconnect  s from mem2's server listening again to the client READY
  copy       s from then until the worker copied to mem2 every page the
             memory node's copies hold, and no chunk is degraded
  pages      pages the worker copied (repair_pages), and copy MiB/s
  lost       pages no copy held (must be 0)

and the workload then verifies every page. RUNS (default 3) runs; the
medians with the spread (min-max). QEMU/TCG numbers: compare them with
each other, not with real hardware.
"""

import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "vm"))
import cluster as vm  # noqa: E402

ST = vm.SELFTESTS
PORT = 50000


def run(node, script, args, timeout=120):
    rc, out, err = node.run(os.path.join(ST, script), args, timeout)
    if rc != 0:
        raise vm.ClusterError(f"{node.name}: {script} {' '.join(args)}: exit {rc}: "
                              f"{(out + err).strip()[-400:]}")
    return out


class Client:
    """The client's stats and servers files, read with one small job."""

    def __init__(self, node, tmp):
        self.node = node
        self.script = os.path.join(tmp, "peek.sh")
        with open(self.script, "w") as f:
            f.write("#!/bin/sh\nH=/sys/kernel/debug/hermit/rdma\n"
                    "cat $H/stats; echo; sed 's/^/srv /' $H/servers\n")

    def peek(self):
        rc, out, err = self.node.run(self.script, [], 60)
        if rc != 0:
            raise vm.ClusterError(f"cannot read the client's stats: {out}{err}")
        st, srv = {}, {}
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 10 and f[0] == "srv" and not f[1].startswith("#"):
                srv[f[1]] = (f[2], int(f[9]))
            elif len(f) == 2:
                st[f[0]] = f[1]
        return st, srv


def wait(what, cond, secs):
    deadline = time.time() + secs
    while True:
        v = cond()
        if v:
            return v
        if time.time() > deadline:
            raise vm.ClusterError(f"{what} not within {secs} s")
        time.sleep(0.5)


def one_run(c, client, mib, mem, mem2):
    comp = c.node("compute")
    run(comp, "rdma_client.sh", ["connect", f"{mem},{mem2}"])
    run(comp, "rdma_client.sh", ["wait", "ready", "60"])
    share = os.path.join(comp.share, "rr")
    job = comp.run(os.path.join(ST, "rdma_client.sh"),
                   ["hold", "rr", str(mib), str(max(128, 4 * mib))], 1200, background=True)
    try:
        wait("the workload's swap-out", lambda: os.path.exists(os.path.join(share, "ready"))
             or job.done(), 900)
        if job.done():
            rc, out, err = job.wait()
            raise vm.ClusterError(f"workload: exit {rc}: {(out + err)[-400:]}")
        st0, _ = client.peek()
        c.stop("mem2")
        wait("the client seeing mem2 gone",
             lambda: client.peek()[1].get(mem2, ("?",))[0] != "ready", 120)
        c.start("mem2")
        run(c.node("mem2"), "rdma_server.sh", ["start", "512M", "30"])
        t0 = time.time()
        wait("the reconnect", lambda: client.peek()[1].get(mem2, ("?",))[0] == "ready", 120)
        t1 = time.time()

        def copied():
            st, srv = client.peek()
            held = srv[mem][1]
            done = (held and srv[mem2][1] >= held and st["degraded_chunks"] == "0" and
                    int(st["repair_pages"]) - int(st0["repair_pages"]) >= held)
            return st if done else None
        # Done once the worker copied every page the memory node's copies
        # hold to mem2 (its copies lost theirs with its session).
        st = wait("re-replication", copied, 1200)
        t2 = time.time()
    finally:
        open(os.path.join(share, "go"), "w").close()
    rc, out, err = job.wait()
    if rc != 0:
        raise vm.ClusterError(f"the workload did not verify: exit {rc}: {(out + err)[-400:]}")
    pages = int(st["repair_pages"]) - int(st0["repair_pages"])
    lost = int(st["lost_pages"]) - int(st0["lost_pages"])
    run(comp, "rdma_client.sh", ["connect", mem])
    return {"reconnect_s": t1 - t0, "copy_s": t2 - t1, "pages": pages,
            "copy_mibps": pages / 256 / max(t2 - t1, 1e-3), "lost": lost}


def cell(values):
    m = statistics.median(values)
    return f"{m:.1f} ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else f"{m:.1f}"


def main():
    mib = sys.argv[1] if len(sys.argv) > 1 else "32"
    runs = sys.argv[2] if len(sys.argv) > 2 else "3"
    if not mib.isdigit() or int(mib) < 4 or not runs.isdigit() or int(runs) < 1:
        print("usage: rereplicate [MiB [RUNS]] (MiB >= 4, RUNS >= 1)", file=sys.stderr)
        return 2
    mib, runs = int(mib), int(runs)

    def body(c):
        tmp = tempfile.mkdtemp(prefix="hermit-rr-")
        client = Client(c.node("compute"), tmp)
        c.start("mem2")
        mem = f"{c.ip_of('memory', 'compute')}:{PORT}"
        mem2 = f"{c.ip_of('mem2', 'compute')}:{PORT}"
        rows, bad = [], 0
        try:
            run(c.node("memory"), "rdma_server.sh", ["start", "512M", "300"])
            run(c.node("mem2"), "rdma_server.sh", ["start", "512M", "30"])
            run(c.node("compute"), "rdma_client.sh", ["connect", mem])
            set_r2 = os.path.join(tmp, "r2.sh")
            with open(set_r2, "w") as f:
                f.write("#!/bin/sh\necho 2 >/sys/kernel/debug/hermit/rdma/replicas\n")
            rc, out, err = c.node("compute").run(set_r2, [], 30)
            if rc != 0:
                raise vm.ClusterError(f"cannot set replicas=2: {out}{err}")
            for r in range(1, runs + 1):
                v = one_run(c, client, mib, mem, mem2)
                bad += v["lost"] != 0 or v["pages"] < mib * 256 // 2
                rows.append(v)
                print(f"run {r}: reconnect {v['reconnect_s']:.1f} s, copy {v['copy_s']:.1f} s, "
                      f"{v['pages']} pages copied ({v['copy_mibps']:.2f} MiB/s), "
                      f"{v['lost']} lost; workload verified", flush=True)
        except vm.ClusterError as e:
            print(f"rereplicate: {e}", flush=True)
            return 1
        print(f"\nrereplicate: {mib} MiB under memory.max {mib // 4} MiB, replicas=2, "
              f"mem2 powered off and booted again, {runs} runs, median (min-max)")
        for k, h in (("reconnect_s", "reconnect s"), ("copy_s", "copy s"),
                     ("pages", "pages copied"), ("copy_mibps", "copy MiB/s"),
                     ("lost", "pages lost")):
            print(f"  {h:14} {cell([x[k] for x in rows])}")
        if bad:
            print(f"{bad} run(s) lost pages or copied fewer than half the workload's pages")
        return 1 if bad else 0
    return vm.run_bench(body)


if __name__ == "__main__":
    sys.exit(main())
