#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Runtime of a memory-bound workload with 50% and 25% of its memory local,
offloaded reclaim off (hermit.fs_enabled=N) vs on (Y), on the compute node
of the test cluster, with the Hermit DRAM backend.

  ./build_kernel.sh bench offload-reclaim [MiB]

The workload (swap_workload: 2 threads pinned to CPU 0, sequential and
random passes, every page checksummed) runs in a cgroup v2 group whose
memory.max is half, then a quarter, of its size; the offload thread runs on
the guest's other CPU. Numbers come from QEMU/TCG guests: compare rows, not
with real hardware.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "vm"))
import cluster as vm  # noqa: E402

SCRIPT = os.path.join(HERE, "..", "..", "testing", "selftests", "hermit",
                      "offload_reclaim.sh")


def main():
    mib = sys.argv[1] if len(sys.argv) > 1 else "128"
    if not mib.isdigit() or not 16 <= int(mib) <= 512:
        print("bench: MiB must be a number from 16 to 512", file=sys.stderr)
        return 2

    def body(c):
        print(f"{'backend':8} {'local':>6} {'N ms':>8} {'Y ms':>8} {'N/Y':>6} "
              f"{'offload%':>9} {'stall N/Y':>11}")
        for factor, local in (("2", "50%"), ("4", "25%")):
            rc, out, err = c.node("compute").run(
                SCRIPT, ["ratio", "v2", factor, mib, "0", "measure"], 1800)
            runs = re.findall(r"fs_enabled=[NY]: runtime (\d+) ms", out)
            res = re.search(r"offload share (\d+)%, direct stall N/Y (\d+)x "
                            r"\(Y: [^)]*\), runtime N/Y ([\d.]+)", out)
            if rc != 0 or len(runs) != 2 or not res:
                print(f"dram     {local:>6} failed (exit {rc}): {(out + err).strip()[-300:]}")
                continue
            print(f"{'dram':8} {local:>6} {runs[0]:>8} {runs[1]:>8} {res.group(3):>6} "
                  f"{res.group(1) + '%':>9} {res.group(2) + 'x':>11}", flush=True)
        print("rdma     (the RDMA backend does not exist yet)")
        return 0
    return vm.run_bench(body)


if __name__ == "__main__":
    sys.exit(main())
