#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""'./build_kernel.sh demo': boot the two-node cluster and show it working.

Shows both nodes on the built kernel, the soft-RoCE link, RDMA traffic
between them, Hermit swapping to the memory node's kernel memory server
over RDMA (a workload four times over its memory cgroup limit, every page
verified, with the server's and the client's stats), and the baseline
Hermit is measured against: the same kind of workload swapping to the
memory node over NVMe-oF/RDMA. The cluster is torn down at the end
(or on Ctrl-C).
"""

import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "vm"))
import cluster as vm  # noqa: E402

SELFTESTS = os.path.join(HERE, "..", "testing", "selftests", "hermit")


def step(title):
    print(f"\n=== {title}", flush=True)


def run(c, node, script, *args, timeout=600):
    print(f"--- {node}: {os.path.basename(script)} {' '.join(args)}", flush=True)
    rc, _, _ = c.node(node).run(os.path.join(SELFTESTS, script), args, timeout,
                                out=sys.stdout, err=sys.stdout)
    if rc != 0:
        raise vm.ClusterError(f"{script} on {node} exited {rc}")


def main():
    tmp = tempfile.mkdtemp(prefix="hermit-demo-")
    c = None
    try:
        step("booting the cluster (QEMU/TCG, soft-RoCE on a private segment)")
        c = vm.boot_test_cluster(os.environ.get("HERMIT_VM_DIR", "build/vm-demo"),
                                 tmp, log=sys.stdout)
        print(c.status())
        mem_ip = c.node("memory").ip
        step("kernel and RDMA link on each node")
        run(c, "compute", "cluster_basic.sh", os.environ["HERMIT_KREL"], mem_ip)
        run(c, "memory", "cluster_basic.sh", os.environ["HERMIT_KREL"],
            c.node("compute").ip)
        run(c, "compute", "hermit_present.sh")
        step("RDMA write bandwidth compute -> memory (ib_write_bw, rdma_cm)")
        srv = c.node("memory").run(os.path.join(SELFTESTS, "perftest.sh"),
                                   ["server", "ib_write_bw"], 120, background=True)
        run(c, "compute", "perftest.sh", "client", "ib_write_bw", mem_ip)
        srv.wait()
        step("Hermit over RDMA: the memory node serves, the compute node connects")
        run(c, "memory", "rdma_server.sh", "start", "1G")
        run(c, "compute", "rdma_client.sh", "connect", mem_ip)
        step("Hermit over RDMA: a workload 4x over its cgroup limit swapping to "
             "the memory node, every page verified")
        run(c, "compute", "rdma_client.sh", "store", timeout=900)
        step("Hermit over RDMA: the client's and the server's stats")
        run(c, "compute", "rdma_client.sh", "stats")
        run(c, "memory", "rdma_server.sh", "stats")
        step("baseline: swap to the memory node over NVMe-oF/RDMA")
        run(c, "memory", "nvmeof_swap.sh", "export")
        run(c, "compute", "nvmeof_swap.sh", "swap", mem_ip, "64", timeout=900)
        run(c, "memory", "nvmeof_swap.sh", "unexport")
        step("done")
        return 0
    except vm.ClusterError as e:
        print(f"demo: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("demo: interrupted", file=sys.stderr)
        return 130
    finally:
        if c is not None:
            c.down()
            print(f"cluster stopped; console logs in {c.dir}", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
