#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Every Hermit knob, written with garbage, answers EINVAL and keeps its
value; good values are taken and read back as written (in the knob's
canonical form). Checks debugfs and /sys/module/hermit*: the core's, the
RDMA client's and the memory server's knobs."""

import errno
import os
import sys

D = "/sys/kernel/debug/hermit"
P = "/sys/module/hermit/parameters"

GARBAGE = {
    "enabled": ["maybe", "2", "yes please", "-1", "\x01"],
    "backend": ["no-such-backend", "DRAM", "a b", "x" * 40, "../dram", "\x01"],
    "dram/capacity": ["abc", "-1", "0", "4095", "1Q", "12x", "99999T", "0x", "\x01"],
    "fs_enabled": ["maybe", "2", "yes please", "-1", "\x01"],
    "fs_batch_flush": ["maybe", "2", "yes please", "-1", "\x01"],
    "fs_headroom_adapt": ["maybe", "2", "yes please", "-1", "\x01"],
    "prefetch": ["none", "VMA", "trend2", "vma trend", "1", "\x01"],
    "readahead_win": ["-1", "33", "abc", "1.5", "8 8", "\x01"],
    "prefetch_async": ["maybe", "2", "yes please", "-1", "\x01"],
    "chunk_ahead": ["maybe", "2", "yes please", "-1", "\x01"],
    "fs_nr_cores": ["0", "-1", "abc", "99999", "1.5", "1 2", "\x01"],
    "fs_cores": ["abc", "99999", "0-99999", "1-0", "-1", "auto2", "\x01"],
    "fs_headroom": ["0", "-1", "abc", "1M", "99999999999999", "\x01"],
    "connect": ["abc", "1.2.3.4:0", "1.2.3.4:70000", "1.2.3.4:x", "999.1.1.1",
                "[::1", "[::1]x", "x" * 80, "\x01",
                # a list: a bad entry, one twice, more than 8, bad "IP PORT"
                "1.2.3.4,abc", "1.2.3.4,1.2.3.4:50000", "1.2.3.4 x",
                "1.2.3.4 5 6", ",".join(f"1.2.3.{i}" for i in range(1, 10))],
    "rdma/load_timeout": ["0", "-1", "abc", "3601", "\x01"],
    "server/listen": ["abc", "1.2.3.4:0", "999.1.1.1", "1.2.3.4:65536", "\x01"],
    "server/capacity": ["abc", "-1", "12x", "99999T", "\x01"],
    "server/grace_period": ["-1", "abc", "86401", "\x01"],
    "server/client_quota": ["abc", "-1", "12x", "99999T", "\x01"],
    "rdma/queues": ["-1", "abc", "513", "1.5", "\x01"],
    "rdma/merge": ["0", "-1", "17", "abc", "1.5", "\x01"],
    "rdma/replicas": ["0", "3", "-1", "abc", "1.5", "\x01"],
    "rdma/key": ["abc", "00112233", "0" * 31, "g" * 32, "0" * 130, "set", "\x01"],
    "server/key": ["abc", "00112233", "0" * 33, "g" * 32, "0" * 130, "set", "\x01"],
}
GOOD = {
    "enabled": ["1", "0", "Y", "n"],
    "backend": ["dram"],
    "dram/capacity": ["64M", "512M", "65536"],
    "fs_enabled": ["N", "Y", "0", "1"],
    "fs_batch_flush": ["N", "Y", "0", "1"],
    "fs_headroom_adapt": ["N", "Y", "0", "1"],
    "prefetch": ["off", "cluster", "trend", "vma"],
    "readahead_win": ["1", "32", "8", "0"],
    "prefetch_async": ["Y", "N", "1", "0"],
    "chunk_ahead": ["N", "Y", "0", "1"],
    "fs_nr_cores": ["1", "2"],
    "fs_cores": ["0", "1", "0-1", "auto"],
    "fs_headroom": ["1024", "4096", "2048"],
    "connect": ["off"],
    "rdma/load_timeout": ["30", "60"],
    "server/listen": ["0.0.0.0:50007", "off"],
    "server/capacity": ["64M", "256M"],
    "server/grace_period": ["10", "300"],
    "server/client_quota": ["64M", "0"],
    "rdma/queues": ["1", "512", "0"],
    "rdma/merge": ["1", "16", "4"],
    "rdma/replicas": ["2", "1"],
    "rdma/key": ["00112233445566778899aabbccddeeff", "off"],
    "server/key": ["ab" * 64, "off"],
}
SYSFS = {"enabled": "enabled", "backend": "backend", "dram/capacity": "dram_capacity",
         "fs_enabled": "fs_enabled", "fs_batch_flush": "fs_batch_flush",
         "fs_headroom_adapt": "fs_headroom_adapt",
         "prefetch": "prefetch",
         "readahead_win": "readahead_win", "prefetch_async": "prefetch_async",
         "chunk_ahead": "chunk_ahead",
         "fs_nr_cores": "fs_nr_cores",
         "fs_cores": "fs_cores", "fs_headroom": "fs_headroom",
         "connect": "server", "rdma/load_timeout": "rdma_load_timeout",
         "server/listen": "../../hermit_server/parameters/listen",
         "server/capacity": "../../hermit_server/parameters/capacity",
         "server/grace_period": "../../hermit_server/parameters/grace_period",
         "server/client_quota": "../../hermit_server/parameters/client_quota",
         "rdma/queues": "rdma_queues", "rdma/merge": "rdma_merge", "rdma/key": "key",
         "rdma/replicas": "replicas",
         "server/key": "../../hermit_server/parameters/key"}
# Keys are write-only: reading tells only whether one is set.
SECRET = {"rdma/key", "server/key"}
BOOLS = {"enabled", "fs_enabled", "fs_batch_flush", "fs_headroom_adapt", "prefetch_async", "chunk_ahead"}
SIZES = {"dram/capacity", "server/capacity", "server/client_quota"}


def canon(knob, v):
    """What a knob reads back after v was written."""
    if knob in BOOLS:
        return "Y" if v in ("1", "Y", "y") else "N"
    if knob in SIZES:
        mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
        return str(int(v[:-1]) * mult[v[-1]] if v[-1] in mult else int(v))
    if knob in SECRET:
        return "off" if v == "off" else "set"
    return v


failures = []


def read(path):
    with open(path) as f:
        return f.read()


def write(path, value):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


for knob, values in GARBAGE.items():
    for path in (os.path.join(D, knob), os.path.join(P, SYSFS[knob])):
        # A key's sysfs file cannot be read at all: check it in debugfs.
        rpath = os.path.join(D, knob) if knob in SECRET else path
        before = read(rpath)
        for v in values:
            err = write(path, v)
            after = read(rpath)
            if err != errno.EINVAL:
                failures.append(f"{path} <- {v!r}: errno {err}, expected EINVAL")
            if after != before:
                failures.append(f"{path} <- {v!r}: value changed {before!r} -> {after!r}")
        for v in GOOD[knob]:
            err = write(path, v)
            if err:
                failures.append(f"{path} <- {v!r}: refused with errno {err}")
                continue
            got = read(rpath).strip()
            if got != canon(knob, v):
                failures.append(f"{path} <- {v!r}: reads back {got!r}, "
                                f"expected {canon(knob, v)!r}")
        write(path, before.strip())
        if read(rpath) != before:
            failures.append(f"{path}: could not restore {before!r}")
    mode = os.stat(os.path.join(D, knob)).st_mode & 0o777
    if mode & 0o002:
        failures.append(f"{knob} is world-writable ({mode:o})")
    if knob in SECRET:
        for path in (os.path.join(D, knob), os.path.join(P, SYSFS[knob])):
            mode = os.stat(path).st_mode & 0o777
            if mode != 0o200:
                failures.append(f"{path}: mode {mode:o}, expected 200")
        if read(os.path.join(D, knob)) != "off\n":
            failures.append(f"{knob} reads {read(os.path.join(D, knob))!r}, expected 'off'")
        try:
            read(os.path.join(P, SYSFS[knob]))
            failures.append(f"{P}/{SYSFS[knob]} can be read")
        except PermissionError:
            pass

# A write-only trigger: anything but "1" is refused.
for v in ["0", "2", "abc", "11", "\x01"]:
    err = write(os.path.join(D, "server/reset"), v)
    if err != errno.EINVAL:
        failures.append(f"server/reset <- {v!r}: errno {err}, expected EINVAL")

for f in failures:
    print(f"FAIL: {f}")
print(f"{'ok' if not failures else 'FAIL'}: {sum(len(v) for v in GARBAGE.values()) * 2} garbage writes, "
      f"{sum(len(v) for v in GOOD.values()) * 2} good ones read back")
sys.exit(1 if failures else 0)
