#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Major-fault latency and swap throughput on the compute node of the test
cluster: Hermit over RDMA (the memory node's kernel server, soft-RoCE) vs
the NVMe-oF/RDMA swap baseline (nvmet-rdma on the memory node, same link),
Hermit's DRAM backend, zram (lz4) and the virtio swap disk.

  ./build_kernel.sh bench fault-latency [MiB [MODE,...]]

Numbers come from QEMU/TCG guests: compare them with each other, not with
real hardware.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "vm"))
import cluster as vm  # noqa: E402

SELFTESTS_HOST = vm.SELFTESTS

MODES = ("hermit-rdma", "nvmeof-rdma", "hermit-dram", "zram-lz4", "disk")


def main():
    mib = sys.argv[1] if len(sys.argv) > 1 else "64"
    modes = sys.argv[2].split(",") if len(sys.argv) > 2 else MODES

    def body(c):
        mem = c.node("memory")
        for script, args in (("rdma_server.sh", ["start", "1G"]),
                             ("nvmeof_swap.sh", ["export"])):
            rc, out, err = mem.run(os.path.join(SELFTESTS_HOST, script), args, 120)
            if rc != 0:
                print(f"memory node: {script} failed: {(out + err).strip()[-300:]}")
                return 1
        print(f"{'tier':12} {'faults':>8} {'mean us':>9} {'median us':>10} "
              f"{'p99 us':>9} {'out MiB/s':>10} {'in MiB/s':>9}")
        for mode in modes:
            rc, out, err = c.node("compute").run(
                os.path.join(HERE, "fault_latency_guest.sh"), [mode, mib, mem.ip], 1800)
            line = next((x for x in out.splitlines() if x.startswith("result: ")), None)
            if rc != 0 or not line:
                print(f"{mode:12} failed (exit {rc}): {(out + err).strip()[-300:]}")
                continue
            f = line.split()[2:]
            v = dict(zip(f[0::2], f[1::2]))
            print(f"{mode:12} {v.get('faults', '-'):>8} {v.get('mean_us', '-'):>9} "
                  f"{v.get('median_us', '-'):>10} {v.get('p99_us', '-'):>9} "
                  f"{v.get('fill_mibps', '-'):>10} {v.get('read_mibps', '-'):>9}",
                  flush=True)
        return 0
    return vm.run_bench(body)


if __name__ == "__main__":
    sys.exit(main())
