#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Run every Hermit test: the build script's own, then the selftests in the
booted two-node cluster. Called by './build_kernel.sh test', which exports
HERMIT_TOP, HERMIT_BUILD, HERMIT_KERNEL, HERMIT_ROOTFS and HERMIT_KREL.

Prints 'ok N - name' or 'not ok N - name' per test, the reason under a
failure, and ends with one line 'N passed, N failed'; exits 1 on any failure.

  run_tests.py [-k SUBSTRING]...   only tests whose name has a substring
"""

import argparse
import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "vm"))
import cluster as vm  # noqa: E402

TOP = os.environ.get("HERMIT_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("HERMIT_BUILD") or os.path.join(TOP, "build")
SELFTESTS = os.path.join(TOP, "tools", "testing", "selftests", "hermit")
BUILD_SH = os.path.join(TOP, "build_kernel.sh")
# A stop before CI's own (90 minutes for the whole .ci/run) so that the
# suite still reports. The suite took about 60 minutes on a warm machine
# in session 28 (its target is less); the builds before it take about 5
# more. The modules kernel is built before the clock starts.
SUITE_DEADLINE = 80 * 60


class Fail(Exception):
    pass


class SuiteDeadline(BaseException):
    """Raised by SIGALRM when the suite runs out of time; a BaseException,
    so that a test's own 'except Exception' does not swallow it."""


class Skip(Exception):
    pass


TESTS = []


def test(name, needs_cluster=False):
    def reg(fn):
        TESTS.append((name, fn, needs_cluster))
        return fn
    return reg


def sh(argv, env=None, input=None, timeout=600, cwd=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(argv, env=e, input=input, capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)


def sh_progress(argv, what, timeout=600, cwd=None, env=None):
    """sh() for long commands: prints a line a minute to stderr (the
    time so far and the command's last output line) while it runs.  The
    command runs in a session of its own, killed whole (make's children
    too) when it times out or the suite is interrupted."""
    e = dict(os.environ)
    e.update(env or {})
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                             text=True, cwd=cwd, env=e, start_new_session=True)
        start = time.time()
        try:
            while True:
                try:
                    p.wait(timeout=60)
                    break
                except subprocess.TimeoutExpired:
                    if time.time() - start > timeout:
                        raise
                    out.seek(0)
                    lines = [x.strip() for x in out.read().splitlines() if x.strip()]
                    last = f", last: {lines[-1][:100]}" if lines else ""
                    print(f"# {what}: {int(time.time() - start) // 60} min{last}",
                          file=sys.stderr, flush=True)
        except BaseException:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
            raise
        out.seek(0)
        return subprocess.CompletedProcess(argv, p.returncode, out.read(), "")


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


# ---------------------------------------------------------------- host side

@test("build_kernel.sh: unknown command is refused")
def t_unknown_command(ctx):
    r = sh([BUILD_SH, "frobnicate"])
    expect(r.returncode != 0, "exit code 0")
    expect("unknown command 'frobnicate'" in r.stderr, f"stderr: {r.stderr!r}")


@test("build_kernel.sh: --help lists the commands")
def t_help(ctx):
    r = sh([BUILD_SH, "--help"])
    expect(r.returncode == 0, f"exit code {r.returncode}")
    for cmd in ("build", "install", "replace", "test", "vm up", "vm run", "demo", "tree", "clean"):
        expect(cmd in r.stdout, f"--help does not mention {cmd}")


def fake_tree(root, version, patchlevel, sublevel):
    os.makedirs(os.path.join(root, "mm"))
    os.makedirs(os.path.join(root, "arch", "x86"))
    with open(os.path.join(root, "Makefile"), "w") as f:
        f.write(f"VERSION = {version}\nPATCHLEVEL = {patchlevel}\n"
                f"SUBLEVEL = {sublevel}\nEXTRAVERSION =\n")


def refused_base(ctx, base, words):
    with tempfile.TemporaryDirectory() as tmp:
        r = sh([BUILD_SH, "tree"], env={"HERMIT_BASE": base,
                                        "HERMIT_BUILD_DIR": os.path.join(tmp, "b")})
        expect(r.returncode != 0, "exit code 0")
        for w in words:
            expect(w in r.stderr, f"no {w!r} in stderr: {r.stderr.strip()!r}")
        expect(not os.path.exists(os.path.join(tmp, "b", "linux")),
               "a tree was assembled anyway")


@test("build_kernel.sh: a 6.6 base directory is refused")
def t_base_dir_not_612(ctx):
    with tempfile.TemporaryDirectory() as tmp:
        fake_tree(os.path.join(tmp, "linux-6.6.30"), 6, 6, 30)
        refused_base(ctx, os.path.join(tmp, "linux-6.6.30"), ["6.6.30", "6.12.y"])


@test("build_kernel.sh: a 6.13 base tarball is refused")
def t_base_tar_not_612(ctx):
    with tempfile.TemporaryDirectory() as tmp:
        fake_tree(os.path.join(tmp, "linux-6.13"), 6, 13, 0)
        tar = os.path.join(tmp, "linux-6.13.tar.xz")
        subprocess.run(["tar", "-cJf", tar, "-C", tmp, "linux-6.13"], check=True)
        refused_base(ctx, tar, ["6.13.0", "6.12.y"])


@test("build_kernel.sh: a missing base is refused")
def t_base_missing(ctx):
    refused_base(ctx, "/nonexistent/linux-6.12.tar.xz", ["does not exist"])


@test("build_kernel.sh: the assembled tree is base + series + overlay")
def t_tree_layout(ctx):
    src = os.path.join(BUILD, "linux")
    log = sh(["git", "-C", src, "log", "--format=%s"]).stdout.splitlines()
    series = [p.strip() for p in open(os.path.join(TOP, "patches", "series"))
              if p.strip() and not p.startswith("#")]
    expect(len(log) == len(series) + 2, f"log has {len(log)} commits: {log}")
    expect(log[-1].startswith("Linux 6.12."), f"first commit is {log[-1]!r}")
    expect(log[0].startswith("hermit: overlay"), f"last commit is {log[0]!r}")
    expect(os.path.isfile(os.path.join(src, "mm", "hermit", "core.c")),
           "mm/hermit/core.c is not in the tree")
    status = sh(["git", "-C", src, "status", "--porcelain", "--untracked-files=no"])
    expect(status.stdout == "", f"tree is dirty: {status.stdout[:200]}")


@test("build_kernel.sh: re-assembly keeps unchanged files' mtimes")
def t_tree_mtimes(ctx):
    src = os.path.join(BUILD, "linux")
    probes = ["mm/memory.c", "mm/Kconfig", "mm/hermit/core.c"]
    before = [os.stat(os.path.join(src, p)).st_mtime_ns for p in probes]
    r = sh([BUILD_SH, "tree"])
    expect(r.returncode == 0, f"tree failed: {r.stderr}")
    expect(r.stdout.strip() == src, f"tree printed {r.stdout!r}")
    after = [os.stat(os.path.join(src, p)).st_mtime_ns for p in probes]
    expect(before == after, f"mtimes changed: {list(zip(probes, before, after))}")


def staged_install(cmd, tmp):
    r = sh([BUILD_SH, cmd], env={"DESTDIR": tmp})
    expect(r.returncode == 0, f"{cmd} failed: {r.stderr[-800:]}")
    return r


@test("build_kernel.sh install: into a staging DESTDIR")
def t_install_staging(ctx):
    krel = os.environ["HERMIT_KREL"]
    with tempfile.TemporaryDirectory() as tmp:
        r = staged_install("install", tmp)
        for f in (f"boot/vmlinuz-{krel}", f"boot/System.map-{krel}",
                  f"boot/config-{krel}", f"lib/modules/{krel}/modules.dep"):
            expect(os.path.isfile(os.path.join(tmp, f)), f"{f} missing")
        mods = sh(["find", os.path.join(tmp, "lib/modules", krel), "-name", "*.ko*"]).stdout
        expect("cxgb4" in mods, "no modules installed (cxgb4 expected)")
        expect("initramfs and grub left alone" in r.stderr, "staging did not skip grub")
    expect(not os.path.exists(f"/boot/vmlinuz-{krel}"), "the host's /boot was written")


@test("build_kernel.sh replace: the image only")
def t_replace_staging(ctx):
    krel = os.environ["HERMIT_KREL"]
    with tempfile.TemporaryDirectory() as tmp:
        staged_install("replace", tmp)
        expect(os.path.isfile(os.path.join(tmp, f"boot/vmlinuz-{krel}")), "no image")
        expect(not os.path.exists(os.path.join(tmp, "lib/modules")),
               "replace installed modules")


GRUB_CFG = """menuentry 'Debian GNU/Linux' $menuentry_id_option 'gnulinux-simple-1234' {
\tlinux\t/boot/vmlinuz-{krel} root=UUID=1234 ro quiet
}}
submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-1234' {{
\tmenuentry 'Debian GNU/Linux, with Linux {krel}' $menuentry_id_option 'gnulinux-{krel}-advanced-1234' {{
\t\tlinux\t/boot/vmlinuz-{krel} root=UUID=1234 ro quiet
\t}}
\tmenuentry 'Debian GNU/Linux, with Linux {krel} (recovery mode)' $menuentry_id_option 'gnulinux-{krel}-recovery-1234' {{
\t\tlinux\t/boot/vmlinuz-{krel} root=UUID=1234 ro single
\t}}
}}
"""


@test("build_kernel.sh replace --trial: the one-time GRUB entry and the "
      "GRUB_DEFAULT line; a missing entry or a bad option is refused")
def t_install_trial(ctx):
    krel = os.environ["HERMIT_KREL"]
    entry = f"gnulinux-advanced-1234>gnulinux-{krel}-advanced-1234"
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "grub.cfg")
        with open(cfg, "w") as f:
            f.write(GRUB_CFG.replace("{{", "{").replace("}}", "}").replace("{krel}", krel))
        stage = os.path.join(tmp, "stage")
        r = sh([BUILD_SH, "replace", "--trial"], env={"DESTDIR": stage, "GRUB_CFG": cfg})
        expect(r.returncode == 0, f"replace --trial failed: {r.stderr[-800:]}")
        expect(f"would run grub-reboot '{entry}'" in r.stderr, f"stderr: {r.stderr!r}")
        expect(f'GRUB_DEFAULT="{entry}"' in r.stderr, f"no GRUB_DEFAULT line: {r.stderr!r}")
        with open(cfg, "w") as f:
            f.write(GRUB_CFG.replace("{{", "{").replace("}}", "}").replace("{krel}", "6.1.0-9-amd64"))
        r = sh([BUILD_SH, "replace", "--trial"], env={"DESTDIR": stage, "GRUB_CFG": cfg})
        expect(r.returncode != 0 and f"no menu entry for {krel}" in r.stderr,
               f"a missing entry: exit {r.returncode}, {r.stderr[-400:]!r}")
        r = sh([BUILD_SH, "install", "--trail"], env={"DESTDIR": stage})
        expect(r.returncode != 0 and "unknown option '--trail'" in r.stderr,
               f"a bad option: exit {r.returncode}, {r.stderr[-400:]!r}")
    ctx.note(entry)


@test("build_kernel.sh install/replace: refused without root")
def t_install_needs_root(ctx):
    if not shutil.which("setpriv"):
        raise Skip("no setpriv")
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if sh(drop + ["test", "-x", BUILD_SH]).returncode != 0:
        raise Skip(f"{BUILD_SH} is not readable by nobody")
    for cmd in ("install", "replace"):
        with tempfile.TemporaryDirectory() as tmp:
            r = sh(drop + [BUILD_SH, cmd], env={"DESTDIR": tmp})
            expect(r.returncode != 0, f"{cmd} ran as nobody")
            expect("must run as root" in r.stderr, f"stderr: {r.stderr!r}")
            expect(os.listdir(tmp) == [], f"{cmd} wrote {os.listdir(tmp)}")


LOCAL_CONFIG = """CONFIG_X86_64=y
CONFIG_LOCALVERSION=""
CONFIG_LOCALVERSION_AUTO=y
CONFIG_SYSTEM_TRUSTED_KEYS="debian/certs/debian-uefi-certs.pem"
CONFIG_SYSTEM_REVOCATION_KEYS="debian/certs/debian-uefi-certs.pem"
CONFIG_MODULES=y
CONFIG_MODULE_SIG=y
CONFIG_MODULE_SIG_KEY="/etc/keys/distro.pem"
CONFIG_NET=y
CONFIG_INET=y
CONFIG_PCI=y
CONFIG_BLOCK=y
CONFIG_XFS_FS=m
CONFIG_BTRFS_FS=m
CONFIG_INFINIBAND=m
CONFIG_MLX5_CORE=m
CONFIG_MLX5_INFINIBAND=m
CONFIG_LOG_BUF_SHIFT=17
# CONFIG_SWAP is not set
# CONFIG_CGROUP_DEBUG is not set
"""


def config_lines(path):
    with open(path) as f:
        return set(f.read().splitlines())


@test("build_kernel.sh config --localconfig=FILE: the machine's options kept, "
      "Hermit's added, certificate paths reset, hand edits kept; a merge "
      "without Hermit or a bad FILE refused")
def t_localconfig(ctx):
    obj = os.path.join(BUILD, "x86_64-local")
    main_cfg = os.path.join(BUILD, "x86_64", ".config")
    with open(main_cfg, "rb") as f:
        main_before = f.read()
    shutil.rmtree(obj, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "config-6.1.0-server")
        with open(src, "w") as f:
            f.write(LOCAL_CONFIG)
        r = sh([BUILD_SH, "config", f"--localconfig={src}"])
        expect(r.returncode == 0, f"config --localconfig failed: {r.stderr[-1500:]}")
        expect("hermit_rdma and hermit_server" in r.stderr,
               f"no word of the RDMA modules: {r.stderr[-800:]!r}")
        cfg = os.path.join(obj, ".config")
        have = config_lines(cfg)
        want = [
            # the machine's choices, kept
            "CONFIG_XFS_FS=m", "CONFIG_BTRFS_FS=m", "CONFIG_MLX5_CORE=m",
            "CONFIG_INFINIBAND=m", "CONFIG_LOG_BUF_SHIFT=17",
            "# CONFIG_CGROUP_DEBUG is not set",
            # Hermit's, and what it needs
            "CONFIG_HERMIT=y", "CONFIG_HERMIT_RDMA_CLIENT=m",
            "CONFIG_HERMIT_RDMA_SERVER=m", "CONFIG_SWAP=y", "CONFIG_MEMCG=y",
            'CONFIG_LOCALVERSION="-hermit"', "# CONFIG_LOCALVERSION_AUTO is not set",
            # what the machine's config does not mention, from the seed
            "CONFIG_VIRTIO_BLK=y",
            # distribution certificate paths reset
            'CONFIG_SYSTEM_TRUSTED_KEYS=""',
            'CONFIG_MODULE_SIG_KEY="certs/signing_key.pem"',
        ]
        missing = [w for w in want if w not in have]
        expect(not missing, f"{cfg} lacks {missing}")
        distro = [x for x in have if "debian/certs" in x or "/etc/keys" in x]
        expect(not distro, f"distribution paths kept: {distro}")
        expect("CONFIG_WERROR=y" not in have, "the seed's CONFIG_WERROR was taken")
        # A hand edit survives the next run, which merges the same file
        # again (the one recorded).
        with open(cfg, "a") as f:
            f.write("CONFIG_LOG_BUF_SHIFT=19\n")
        r = sh([BUILD_SH, "config", "--localconfig"])
        expect(r.returncode == 0, f"second config --localconfig failed: {r.stderr[-800:]}")
        expect("seeding" not in r.stderr, f"the merge was redone: {r.stderr[-400:]!r}")
        expect("CONFIG_LOG_BUF_SHIFT=19" in config_lines(cfg), "the hand edit was lost")
        refused = [
            (LOCAL_CONFIG.replace("CONFIG_NET=y\n", "# CONFIG_NET is not set\n"),
             "CONFIG_HERMIT_RDMA_CLIENT is off"),
            (LOCAL_CONFIG.replace("CONFIG_X86_64=y\n", ""),
             "not the configuration of an x86_64 kernel"),
        ]
        for text, words in refused:
            bad = os.path.join(tmp, "bad")
            with open(bad, "w") as f:
                f.write(text)
            r = sh([BUILD_SH, "config", f"--localconfig={bad}"])
            expect(r.returncode != 0 and words in r.stderr,
                   f"'{words}' expected: exit {r.returncode}, {r.stderr[-400:]!r}")
        r = sh([BUILD_SH, "build", f"--localconfig={tmp}/none"])
        expect(r.returncode != 0 and "cannot read" in r.stderr,
               f"a missing file: exit {r.returncode}, {r.stderr[-400:]!r}")
        r = sh([BUILD_SH, "replace", "--localconfig"], env={"DESTDIR": tmp})
        expect(r.returncode != 0 and "no kernel built in " + obj in r.stderr,
               f"replace of an unbuilt local kernel: exit {r.returncode}, {r.stderr[-400:]!r}")
        r = sh([BUILD_SH, "config", "--localconfig"], env={"HERMIT_DEBUG": "1"})
        expect(r.returncode != 0 and "does not go with" in r.stderr,
               f"with HERMIT_DEBUG=1: exit {r.returncode}, {r.stderr[-400:]!r}")
    with open(main_cfg, "rb") as f:
        expect(f.read() == main_before, f"{main_cfg} changed")
    shutil.rmtree(obj, ignore_errors=True)


DEB = {}


def deb_packages():
    """Run './build_kernel.sh deb' once per suite; returns {kind: path} of
    the packages (image, headers, libc-dev) and their version."""
    if not DEB:
        t0 = time.time()
        # gzip: dpkg-deb's default xz takes a minute more here, and as
        # long again for dpkg -i in a node.
        r = sh_progress([BUILD_SH, "deb"], "deb", timeout=1800,
                        env={"KDEB_COMPRESS": "gzip"})
        expect(r.returncode == 0, f"deb: exit {r.returncode}\n{r.stdout[-2000:]}")
        krel = os.environ["HERMIT_KREL"]
        d = os.path.join(BUILD, "deb", "x86_64")
        debs = sorted(os.listdir(d)) if os.path.isdir(d) else []
        for kind, prefix in (("image", f"linux-image-{krel}_"),
                             ("headers", f"linux-headers-{krel}_"),
                             ("libc-dev", "linux-libc-dev_")):
            found = [x for x in debs if x.startswith(prefix) and x.endswith(".deb")]
            expect(len(found) == 1, f"{d}: {len(found)} packages {prefix}*.deb in {debs}")
            DEB[kind] = os.path.join(d, found[0])
        DEB["version"] = sh(["dpkg-deb", "-f", DEB["image"], "Version"]).stdout.strip()
        DEB["seconds"] = time.time() - t0
    return DEB


def deb_contents(path):
    r = sh(["dpkg-deb", "-c", path])
    expect(r.returncode == 0, f"dpkg-deb -c {path}: {r.stderr}")
    return [line.split()[5].lstrip(".") for line in r.stdout.splitlines()]


@test("build_kernel.sh deb: linux-image (the built bzImage, modules), "
      "linux-headers and linux-libc-dev (with Hermit's headers) packages")
def t_deb(ctx):
    krel = os.environ["HERMIT_KREL"]
    debs = deb_packages()
    files = {k: deb_contents(debs[k]) for k in ("image", "headers", "libc-dev")}
    hdr = f"/usr/src/linux-headers-{krel}"
    for kind, want in (("image", f"/boot/vmlinuz-{krel}"),
                       ("image", f"/boot/config-{krel}"),
                       ("headers", f"{hdr}/Makefile"),
                       ("headers", f"{hdr}/Module.symvers"),
                       ("headers", f"{hdr}/include/linux/hermit.h"),
                       ("headers", f"{hdr}/scripts/mod/modpost"),
                       ("libc-dev", "/usr/include/linux/hermit.h")):
        expect(want in files[kind], f"{os.path.basename(debs[kind])} has no {want}")
    members = sh(["ar", "t", debs["image"]]).stdout.split()
    expect("data.tar.gz" in members, f"KDEB_COMPRESS=gzip not applied: {members}")
    kos = [f for f in files["image"] if f"/modules/{krel}/kernel/" in f and ".ko" in f]
    expect(any("/cxgb4.ko" in f for f in kos), f"no cxgb4 module in the image package: {kos}")
    with tempfile.TemporaryDirectory() as tmp:
        sh(["dpkg-deb", "-x", debs["image"], tmp])
        with open(os.path.join(tmp, "boot", f"vmlinuz-{krel}"), "rb") as a, \
                open(os.environ["HERMIT_KERNEL"], "rb") as b:
            expect(a.read() == b.read(), "the packaged vmlinuz is not the built bzImage")
    sizes = ", ".join(f"{k} {os.path.getsize(debs[k]) >> 20} MiB"
                      for k in ("image", "headers", "libc-dev"))
    ctx.note(f"{debs['version']}: {sizes}; {len(kos)} modules; {debs['seconds']:.0f} s")


@test("kunit: mm/hermit and the RDMA protocol under UML")
def t_kunit(ctx):
    src = os.path.join(BUILD, "linux")
    r = sh_progress([sys.executable, "tools/testing/kunit/kunit.py", "run",
                     "--kunitconfig=mm/hermit/tests",
                     "--kunitconfig=drivers/infiniband/ulp/hermit", f"--build_dir={BUILD}/kunit",
                     f"--jobs={os.cpu_count()}", "--make_options", "CC=ccache gcc",
                     "--timeout", "300"], "kunit", timeout=1500, cwd=src)
    summary = [line for line in r.stdout.splitlines() if "Testing complete" in line]
    expect(r.returncode == 0 and summary,
           f"kunit.py exit {r.returncode}\n{(r.stdout + r.stderr)[-3000:]}")
    ctx.note(summary[-1].split("Testing complete.")[-1].strip())


@test("bench apps --quick: sort, memcached and faas at 50 % on hermit-rdma and disk in "
      "a cluster of its own; table, CSV and PNGs written, each row's pages where its "
      "tier says")
def t_bench_apps(ctx):
    # The script itself, as 'build_kernel.sh bench apps' runs it (without
    # the incremental build that command does first).
    apps = ("sort", "memcached", "faas")
    r = sh_progress([sys.executable, os.path.join(TOP, "tools", "hermit", "bench", "apps.py"),
                     "--quick", "--apps", ",".join(apps), "--tiers", "hermit-rdma,disk"],
                    "bench apps", timeout=1200,
                    env={"HERMIT_VM_DIR": os.path.join(BUILD, f"vm-apps-{os.getpid()}")})
    expect(r.returncode == 0, f"bench apps: exit {r.returncode}\n{r.stdout[-2500:]}")
    out = os.path.join(BUILD, "bench", "apps")
    pngs = ("apps-perf.png", "apps-memcached-latency.png", "apps-faas-latency.png")
    for f in ("apps.md", "apps.csv") + pngs:
        expect(os.path.isfile(os.path.join(out, f)), f"bench apps wrote no {f}")
    for png in pngs:
        with open(os.path.join(out, png), "rb") as f:
            expect(f.read(8) == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG")
    with open(os.path.join(out, "apps.csv")) as f:
        rows = {(x["app"], x["tier"], x["local_pct"]): x for x in csv.DictReader(f)}
    expect(set(rows) == {(a, t, p) for a in apps
                         for t, p in (("local", "100"), ("hermit-rdma", "50"), ("disk", "50"))},
           f"rows {sorted(rows)} in apps.csv")
    want = {"local": (False, False), "hermit-rdma": (True, False), "disk": (False, True)}
    metric = {"sort": "seconds", "memcached": "rps", "faas": "seconds"}
    for (app, tier, pct), x in rows.items():
        stored, pswpout = int(x["stored"]), int(x["pswpout"])
        expect(x["valid"] == "yes" and float(x[metric[app]] or 0) > 0 and
               (stored > 0, pswpout > 0) == want[tier],
               f"{app} {tier} at {pct} %: valid {x['valid']}, {metric[app]} "
               f"{x[metric[app]]}, stored {stored}, pswpout {pswpout}")
        # Percentiles in order; memcached's values all found (a wrong one
        # fails mc_load); faas' warm invocations slower once swapped out.
        if app == "memcached":
            expect(0 < float(x["p50_ms"]) <= float(x["p99_ms"]) <= float(x["p999_ms"]) and
                   x["misses"] == "0", f"memcached {tier}: {x}")
        if app == "faas":
            expect(0 < float(x["warm_p50_ms"]) <= float(x["warm_p99_ms"]) and
                   float(x["cold_p50_ms"]) > 0, f"faas {tier}: {x}")
    with open(os.path.join(out, "apps.md")) as f:
        table = f.read()
    expect(all(f"| {a} | {t} | 50 |" in table for a in apps for t in ("hermit-rdma", "disk")),
           f"apps.md lacks the rows:\n{table}")
    ctx.note("; ".join(f"{a} {t} {p} %: {metric[a]} {x[metric[a]]}, stored {x['stored']}, "
                       f"pswpout {x['pswpout']}" for (a, t, p), x in sorted(rows.items())))


# ------------------------------------------------------------- in the cluster

def node_run(ctx, node, script, args=(), timeout=300, background=False):
    n = ctx.cluster.node(node)
    path = script if os.path.isabs(script) else os.path.join(SELFTESTS, script)
    if background:
        return n.run(path, args, timeout, background=True)
    rc, out, err = n.run(path, args, timeout)
    if rc is None:
        ctx.hung(node)
        raise Fail(f"{node} hung running {script}; killed, console log kept "
                   f"in {n.console_log}")
    return rc, out, err


def expect_ok(what, res):
    rc, out, err = res
    if rc == 4:
        raise Skip(out.strip().splitlines()[-1] if out.strip() else "skipped")
    expect(rc == 0, f"{what}: exit {rc}\n{(out + err).strip()[-1500:]}")
    return out


@test("cluster: both nodes boot the built kernel; rxe0 is ACTIVE, MTU 4096", True)
def t_basic(ctx):
    krel = os.environ["HERMIT_KREL"]
    for node, peer in (("compute", "memory"), ("memory", "compute")):
        expect_ok(node, node_run(ctx, node, "cluster_basic.sh",
                                 [krel, ctx.cluster.node(peer).ip], 60))


@test("cluster: mm/hermit from the overlay is in the booted kernel", True)
def t_hermit_present(ctx):
    expect_ok("compute", node_run(ctx, "compute", "hermit_present.sh", [], 60))


@test("vm run: copies a script in and returns stdout, stderr, exit code", True)
def t_vm_run(ctx):
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write("#!/bin/sh\necho out:$(hostname):$1 \"$2\"\necho err >&2\nexit 3\n")
    try:
        r = sh([BUILD_SH, "vm", "run", "memory", f.name, "a1", "b 2"],
               env={"HERMIT_VM_DIR": ctx.cluster.dir}, timeout=120)
        expect(r.returncode == 3, f"exit code {r.returncode}; stderr {r.stderr!r}")
        expect(r.stdout == "out:memory:a1 b 2\n", f"stdout {r.stdout!r}")
        expect(r.stderr == "err\n", f"stderr {r.stderr!r}")
        st = sh([BUILD_SH, "vm", "status"], env={"HERMIT_VM_DIR": ctx.cluster.dir})
        expect(st.returncode == 0 and st.stdout.count("running") == 2,
               f"vm status: {st.stdout!r}")
    finally:
        os.unlink(f.name)


@test("vm run: a job past its timeout is killed (exit 124)", True)
def t_vm_timeout(ctx):
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write("#!/bin/sh\nsleep 60\n")
    try:
        t0 = time.time()
        rc, _, _ = ctx.cluster.node("compute").run(f.name, [], 2)
        expect(rc == 124, f"exit code {rc}")
        expect(time.time() - t0 < 30, "took too long")
    finally:
        os.unlink(f.name)


def result_line(out):
    """The 'result: ...' line a selftest prints, for the test's summary."""
    for line in out.splitlines():
        if line.startswith("result: "):
            return line[len("result: "):]
    return ""


def result_lines(out):
    """Every 'result: ...' line a selftest prints, joined."""
    return "; ".join(line[len("result: "):] for line in out.splitlines()
                     if line.startswith("result: "))


def client_server(ctx, script, server_args, client_args, timeout=180):
    srv = node_run(ctx, "memory", script, server_args, timeout, background=True)
    try:
        out = expect_ok("client", node_run(ctx, "compute", script,
                                           client_args, timeout))
    finally:
        rc, sout, serr = srv.wait()
    expect(rc == 0, f"server: exit {rc}\n{(sout + serr)[-800:]}")
    return out


@test("rdma: rping between the nodes, payload verified", True)
def t_rping(ctx):
    ip = ctx.cluster.node("memory").ip
    client_server(ctx, "rping.sh", ["server"], ["client", ip])


@test("rdma: ib_write_bw over rdma_cm", True)
def t_write_bw(ctx):
    ip = ctx.cluster.node("memory").ip
    out = client_server(ctx, "perftest.sh", ["server", "ib_write_bw"],
                        ["client", "ib_write_bw", ip])
    ctx.note(result_line(out))


@test("rdma: ib_read_lat over rdma_cm", True)
def t_read_lat(ctx):
    ip = ctx.cluster.node("memory").ip
    out = client_server(ctx, "perftest.sh", ["server", "ib_read_lat"],
                        ["client", "ib_read_lat", ip])
    ctx.note(result_line(out))


@test("baseline: swap on NVMe-oF/RDMA, 4x over memory.high, pages verified", True)
def t_nvmeof_swap(ctx):
    expect_ok("export", node_run(ctx, "memory", "nvmeof_swap.sh", ["export"], 60))
    try:
        out = expect_ok("swap", node_run(ctx, "compute", "nvmeof_swap.sh",
                                         ["swap", ctx.cluster.node("memory").ip, "16"],
                                         900))
        ctx.note(" ".join(line for line in out.splitlines()
                          if line.startswith(("swap_workload", "pswpout"))))
    finally:
        node_run(ctx, "memory", "nvmeof_swap.sh", ["unexport"], 60)


def hermit_swap(ctx, *args, timeout=900):
    out = expect_ok("compute", node_run(ctx, "compute", "hermit_swap.sh",
                                        list(args), timeout))
    ctx.note(" ".join(line for line in out.splitlines()
                      if line.startswith(("swap_workload", "hermit stored"))))
    return out


@test("hermit: DRAM backend, 4x over cgroup v2 memory.max, every page verified", True)
def t_hermit_store_v2(ctx):
    hermit_swap(ctx, "store", "v2")


@test("hermit: disabled, pages go to the swap disk, every page verified", True)
def t_hermit_disabled(ctx):
    hermit_swap(ctx, "disabled")


@test("hermit: backend full, the rest goes to the swap disk, verified", True)
def t_hermit_full(ctx):
    hermit_swap(ctx, "full")


@test("hermit: swapoff brings every page back from the backend", True)
def t_hermit_swapoff(ctx):
    hermit_swap(ctx, "swapoff")


@test("hermit: MADV_PAGEOUT of THP-backed memory (large folios), verified", True)
def t_hermit_pageout(ctx):
    hermit_swap(ctx, "pageout")


@test("hermit: failed swap-in reads (injected) are read again where the page "
      "is needed: no SIGBUS, verified", True)
def t_hermit_reload(ctx):
    ctx.note(result_line(hermit_swap(ctx, "reload")))


@test("hermit: DRAM backend, sequential, random and (prefetch=trend) strided "
      "scans, MADV_WILLNEED: readahead reads asynchronously, accuracy >= 0.9 "
      "sequential, the stride found, verified", True)
def t_hermit_prefetch(ctx):
    ctx.note(result_lines(hermit_swap(ctx, "prefetch")))


@test("hermit: zram as the swap device (SWP_SYNCHRONOUS_IO skips the kernel's "
      "readahead): Hermit's pages are still read ahead, verified", True)
def t_hermit_prefetch_zram(ctx):
    ctx.note(result_lines(hermit_swap(ctx, "prefetch-zram")))


@test("hermit: a slot zswap holds is taken by Hermit: zswap's old copy is "
      "dropped, verified", True)
def t_hermit_zswap_stale(ctx):
    ctx.note(result_line(hermit_swap(ctx, "zswap")))


@test("hermit: every knob refuses garbage with EINVAL and keeps its value, "
      "and reads back a good value as written", True)
def t_hermit_knobs(ctx):
    expect_ok("compute", node_run(ctx, "compute", "hermit_knobs.py", [], 120))


@test("hermit: hermit_stats/hermit_reset system calls (errors, sizes, EPERM) and "
      "syscaller.py on cgroup v2: counters and fault latency equal debugfs's, "
      "original lines; /proc/vmstat, memory.stat and tracepoints count the "
      "same pages", True)
def t_hermit_syscalls_v2(ctx):
    ctx.note(result_line(hermit_swap(ctx, "syscalls", "v2")))


def offload(ctx, *args, timeout=900):
    out = expect_ok("compute", node_run(ctx, "compute", "offload_reclaim.sh",
                                        list(args), timeout))
    ctx.note(result_line(out))
    return out


@test("offload: cgroup v2, 2x over memory.max: offloaded (90%), a TLB flush per batch, stall with waits printed", True)
def t_offload_v2_2x(ctx):
    offload(ctx, "ratio", "v2", "2")


@test("offload: cgroup v2, 4x over memory.max: offloaded (90%), a TLB flush per batch, stall with waits printed", True)
def t_offload_v2_4x(ctx):
    offload(ctx, "ratio", "v2", "4")


@test("offload: fs_nr_cores, fs_cores, fs_headroom, CPU hotplug under load", True)
def t_offload_knobs(ctx):
    offload(ctx, "knobs")


@test("offload: 8 cgroups under pressure at once, all served", True)
def t_offload_many(ctx):
    offload(ctx, "many", "8")


@test("offload: cgroups removed while their reclaim is queued", True)
def t_offload_rmdir(ctx):
    offload(ctx, "rmdir")


# The RDMA transport: 'memory' runs the kernel memory server, 'compute' the
# client backend. The tests run in this order: each leaves the client
# connected for the next.
def rdma_server(ctx, *args, timeout=60, node="memory"):
    return expect_ok(node, node_run(ctx, node, "rdma_server.sh",
                                    list(args), timeout))


def rdma_client(ctx, *args, timeout=120, node="compute"):
    return expect_ok(node, node_run(ctx, node, "rdma_client.sh",
                                    list(args), timeout))


def rdma_hold(ctx, name, mib=8, node="compute", swap_mib=512):
    """Start a paused verified workload whose pages go to the server
    (8 MiB under a memory.max of 2: about 1500 pages remote).
    Returns (job, go): wait() on job after go() lets it verify."""
    job = rdma_hold_start(ctx, name, mib, node, swap_mib)
    return job, rdma_hold_wait(ctx, name, job, node)


def rdma_hold_start(ctx, name, mib=8, node="compute", swap_mib=512):
    """rdma_hold() without waiting for the workload to be paused."""
    share = ctx.cluster.node(node).share
    # A ready file left by an earlier hold of that name is not this one's.
    shutil.rmtree(os.path.join(share, name), ignore_errors=True)
    return node_run(ctx, node, "rdma_client.sh",
                    ["hold", name, str(mib), str(swap_mib)], 600, background=True)


def rdma_hold_wait(ctx, name, job, node="compute"):
    """Wait until the workload of rdma_hold_start() is paused; returns go."""
    share = ctx.cluster.node(node).share
    ready = os.path.join(share, name, "ready")
    deadline = time.time() + 400
    while not os.path.exists(ready):
        if job.done() or time.time() > deadline:
            rc, out, err = job.wait()
            raise Fail(f"hold workload did not get ready: exit {rc}\n{(out + err)[-1200:]}")
        time.sleep(1)

    def go():
        open(os.path.join(share, name, "go"), "w").close()
        rc, out, err = job.wait()
        if rc is None:
            ctx.hung(node)
            raise Fail(f"{node} hung in the hold workload")
        return rc, out + err
    return go


def rdma_rogue(ctx, node, chunk):
    """Run the rogue client on node against chunk ("ADDR RKEY" of some
    client's chunk); returns (rc, out, err)."""
    ip = ctx.cluster.ip_of("memory", node)
    return node_run(ctx, node, "/bin/sh",
                    ["-c", f"exec /run/hermit/selftests/rdma_rogue {ip} {' '.join(chunk)}"],
                    300)


@test("rdma: server unreachable: a clear error, swap goes to the disk, verified", True)
def t_rdma_unreachable(ctx):
    ip = ctx.cluster.node("memory").ip
    ctx.note(result_line(rdma_client(ctx, "unreachable", f"{ip}:50001", timeout=400)))


@test("rdma: memory server on port 50000; client connects ('ctrl is ready for reqs')", True)
def t_rdma_connect(ctx):
    rdma_server(ctx, "start", "1G", "300")
    rdma_client(ctx, "connect", ctx.cluster.node("memory").ip)


@test("rdma: workload 4x over memory.max swaps to the server, stores asynchronous "
      "and batched, neighbouring slots in one WRITE, every page verified", True)
def t_rdma_store(ctx):
    a0 = int(rdma_server(ctx, "expect", "chunk_allocs", "0").split()[-1])
    s0 = {k: int(rdma_server(ctx, "expect", k, "0").split()[-1])
          for k in ("writes_served", "reads_served")}
    out = rdma_client(ctx, "store", "16", timeout=600)
    line = result_line(out)
    m = re.search(r"(\d+) pages written to the server, (\d+) read back", line)
    expect(m, f"no page counts in {line!r}")
    # Waited-for writes never have more in flight than tasks reclaiming.
    n = re.search(r"up to (\d+) writes in flight; (\d+) writes in (\d+) posts", line)
    expect(n and int(n.group(1)) > 8, f"stores are not asynchronous: {line!r}")
    # Reclaim's passes go out in batches: fewer doorbells than writes.
    expect(int(n.group(3)) < int(n.group(2)) * 3 // 4, f"writes are not batched: {line!r}")
    # Chunks are granted ahead of their first store (chunk_ahead): the
    # first when Hermit is enabled, each next spare when a store takes the
    # one before. Two CPUs that start a cluster at once may find one spare
    # for both: the second store asks for its chunk itself, so a few may
    # not be ahead. (Chunks go back as the pages held shrink and are
    # granted again: what the server lends at once, against the pages
    # held, is the trim test's.)
    g = re.search(r"(\d+) chunks granted, (\d+) of them ahead", line)
    expect(g and int(g.group(1)) >= 4, f"too few chunks granted: {line!r}")
    expect(int(g.group(2)) >= int(g.group(1)) - 2,
           f"stores waited for chunks to be granted: {line!r}")
    rdma_server(ctx, "expect", "chunk_allocs", str(a0 + 1))
    rdma_server(ctx, "expect", "chunk_frees", str(a0 + 1))
    # The client reports its counts in its next ping (every 5 s).
    for k, n in zip(s0, m.groups()):
        rdma_server(ctx, "expect", k, str(s0[k] + int(n)), "15")
    ctx.note(f"{line}; the server counts them as served")


@test("rdma: the server lends at most 1.25x the pages held; chunks they no "
      "longer need go back before swapoff, all but two kept free; pages "
      "still held verified", True)
def t_rdma_trim(ctx):
    f0 = int(rdma_server(ctx, "expect", "chunk_frees", "0").split()[-1])
    # The whole 4 GiB swap disk: Linux spreads the slots over it, 64 MiB
    # apart, and the server's memory must not follow.
    out = rdma_client(ctx, "trim", "128", "4096", timeout=300)
    line = result_line(out)
    m = re.search(r"(\d+) pages held, in (\d+) chunks; after the exit (\d+) "
                  r"pages held, in (\d+) clusters and (\d+) chunks, (\d+) given "
                  r"back before swapoff \((\d+) FREEs deferred\); (\d+) after "
                  r"swapoff", line)
    expect(m, f"no chunk counts in {line!r}")
    held, peak, kept, placed, after, ret, deferred, final = map(int, m.groups())
    # A chunk is 2 MiB (512 pages of 4 KiB). Placed densely, 8 + 128 MiB
    # cost the server the clusters they fill, the last one of each CPU
    # partly, and up to two free chunks: at most 1.25x the pages held.
    expect(held >= 24576, f"the workload did not fill 96 MiB: {line!r}")
    expect(peak * 512 <= held * 5 // 4,
           f"the server lends more than 1.25x the pages held: {line!r}")
    # Once the big workload has gone, the backend keeps the chunks of the
    # clusters placed and up to two free ones, nothing else (no hole).
    # The clusters are those of the 8 MiB kept remote, and the ones the
    # CPUs were filling when the big workload started (its first pages
    # went there): a few more than the pages need.
    expect(after < peak and ret == peak - after,
           f"chunks no longer needed were kept until swapoff: {line!r}")
    expect(kept > 0 and after <= placed + 2,
           f"chunks kept beyond the clusters placed and two free: {line!r}")
    expect(placed <= -(-kept // 512) + 4,
           f"more clusters placed than the pages still held need: {line!r}")
    expect(deferred == 0 and final == 0, f"chunks left or FREEs deferred: {line!r}")
    expect("the pages kept remote verified" in line, f"no verification: {line!r}")
    # Every chunk is freed on the server: those given back, then at swapoff.
    rdma_server(ctx, "expect", "chunk_frees", str(f0 + peak), "15")
    ctx.note(f"{line}; at the peak the server lent {peak * 512 / held:.2f}x "
             f"the pages held")


@test("bench apps on two machines: the compute node runs the suite itself against "
      "HERMIT_BENCH_SERVER (faas on hermit-rdma and zram-lz4), rows valid", True)
def t_bench_apps_machines(ctx):
    # What an operator runs on a real compute node, with this cluster's
    # memory node as the other machine (its Hermit server is started).
    ctx.cluster.share(os.path.join(TOP, "tools", "hermit"), "tools")
    ip = ctx.cluster.node("memory").ip
    rc, out, err = node_run(ctx, "compute", "/bin/sh", [
        "-c", f"HERMIT_BENCH_SERVER={ip} HERMIT_SWAPDEV=/dev/vdb "
        "SELFTESTS=/run/hermit/selftests python3 /run/hermit/tools/bench/apps.py "
        "--quick --apps faas --tiers hermit-rdma,zram-lz4 --out /tmp/apps-machines && "
        "cat /tmp/apps-machines/apps.csv"], 900)
    expect(rc == 0, f"bench apps on the compute node: exit {rc}\n{(out + err)[-2500:]}")
    lines = out.splitlines()
    start = next((i for i, x in enumerate(lines) if x.startswith("commit,run,")), None)
    expect(start is not None, f"no CSV in the output:\n{out[-2500:]}")
    rows = {(x["tier"], x["local_pct"]): x for x in csv.DictReader(lines[start:])}
    expect(set(rows) == {("local", "100"), ("hermit-rdma", "50"), ("zram-lz4", "50")},
           f"rows {sorted(rows)}")
    want = {"local": (False, False), "hermit-rdma": (True, False), "zram-lz4": (False, True)}
    for (tier, pct), x in rows.items():
        stored, pswpout = int(x["stored"]), int(x["pswpout"])
        expect(x["valid"] == "yes" and float(x["seconds"]) > 0 and
               (stored > 0, pswpout > 0) == want[tier],
               f"{tier} at {pct} %: {x}")
    ctx.note("; ".join(f"{t} {p} %: {x['seconds']} s, stored {x['stored']}, "
                       f"pswpout {x['pswpout']}" for (t, p), x in sorted(rows.items())))


@test("selftests: 'make install' of TARGETS=hermit, then run_kselftest.sh in a "
      "node: hermit_local passes, hermit_rdma skips without HERMIT_SERVER and "
      "passes with it", True)
def t_kselftest(ctx):
    with tempfile.TemporaryDirectory() as tmp:
        dst = os.path.join(tmp, "ksft")
        r = sh(["make", "-s", "-C", os.path.join(BUILD, "linux", "tools", "testing",
                                                 "selftests"),
                "TARGETS=hermit", f"INSTALL_PATH={dst}", "install"], timeout=600)
        expect(r.returncode == 0, f"make install: exit {r.returncode}\n"
               f"{(r.stdout + r.stderr)[-1500:]}")
        for f in ("run_kselftest.sh", "kselftest-list.txt", "hermit/settings",
                  "hermit/hermit_local.sh", "hermit/hermit_rdma.sh", "hermit/lib.sh",
                  "hermit/swap_workload", "hermit/hermit_syscalls",
                  "hermit/syscaller.py"):
            expect(os.path.exists(os.path.join(dst, f)), f"make install: no {f}")
        ctx.cluster.share(dst, "ksft")
    ctx.note(result_line(expect_ok("compute", node_run(ctx, "compute", "kselftest.sh",
                                                       [], 1500))))


@test("deb: a node boots the packaged vmlinuz; dpkg -i of linux-image and "
      "linux-headers there; the package's modules load into it", True)
def t_deb_install(ctx):
    debs = deb_packages()
    krel = os.environ["HERMIT_KREL"]
    c = ctx.cluster
    with tempfile.TemporaryDirectory() as tmp:
        sh(["dpkg-deb", "-x", debs["image"], tmp])
        img = os.path.join(ctx.tmp, "vmlinuz-deb")
        shutil.copy(os.path.join(tmp, "boot", f"vmlinuz-{krel}"), img)
    c.start("compute2", kernel=img)
    try:
        dst = os.path.join(c.node("compute2").share, "deb")
        shutil.rmtree(dst, ignore_errors=True)
        os.makedirs(dst)
        for k in ("image", "headers"):
            shutil.copy(debs[k], dst)
        ctx.note(result_line(expect_ok("compute2", node_run(
            ctx, "compute2", "deb_install.sh", [krel, debs["version"]], 300))))
    finally:
        c.stop("compute2")


@test("rdma: sequential, random and (prefetch=trend) strided scans: readahead "
      "as batched asynchronous READs on the prefetch queue, accuracy >= 0.9 "
      "sequential, the stride found, verified", True)
def t_rdma_prefetch(ctx):
    # 8 MiB a scan (16 by default): the checks are ratios.
    ctx.note(result_lines(rdma_client(ctx, "prefetch", "8", timeout=600)))


@test("rdma: MADV_PAGEOUT of THPs: each large folio whole in one RDMA write, verified", True)
def t_rdma_pageout(ctx):
    ctx.note(result_line(rdma_client(ctx, "pageout", timeout=600)))


@test("rdma: rogue client: malformed and out-of-bounds requests refused, "
      "another client's chunk unreachable; the real client verified", True)
def t_rdma_rogue(ctx):
    job, go = rdma_hold(ctx, "hold-rogue")
    b0, r0 = (int(rdma_server(ctx, "expect", k, "0").split()[-1])
              for k in ("bad_messages", "rejected_connects"))
    rdma_server(ctx, "expect", "bytes", str(2 << 20))  # a chunk
    chunk = rdma_server(ctx, "chunk").split()
    # Zero-based regions: a grant carries no kernel or physical address.
    addrs = rdma_server(ctx, "addrs").split()
    expect(addrs and all(int(a, 16) == 0 for a in addrs),
           f"grants carry addresses: {addrs}")
    a0 = int(rdma_server(ctx, "expect", "auth_failures", "0").split()[-1])
    d0 = int(stats(rdma_client(ctx, "stats"))["disconnects"])
    # The rogue also poses as the real client, whose id it knows.
    rc, out, err = rdma_rogue(ctx, "compute", chunk + [client_id(ctx)])
    st = stats(rdma_client(ctx, "stats"))
    rc2, out2 = go()
    expect(rc == 0, f"rogue client: exit {rc}\n{(out + err)[-1500:]}")
    expect("ok resuming a known id's session without its secret is refused" in out
           and "offers session 0\n" not in out,
           f"the known-id case did not run, or no session was offered:\n{out[-1500:]}")
    expect(rc2 == 0, f"real client after the rogue: {out2[-1200:]}")
    expect(int(st["disconnects"]) == d0,
           f"the rogue, posing as the real client, cut its session: {st}")
    # The server itself counts each malformed message, refused connect and
    # failed proof (a replayed and a forged data token, a forged resume, a
    # forged data token under the known id).
    bad = rdma_server(ctx, "expect", "bad_messages", str(b0 + 9))
    rej = rdma_server(ctx, "expect", "rejected_connects", str(r0 + 7))
    auth = rdma_server(ctx, "expect", "auth_failures", str(a0 + 4))
    n = sum(1 for line in out.splitlines() if line.startswith("ok "))
    ctx.note(f"{n} cases passed; the server counted {int(bad.split()[-1]) - b0} "
             f"bad messages, {int(rej.split()[-1]) - r0} rejected connects, "
             f"{int(auth.split()[-1]) - a0} failed proofs; the real client kept "
             "its session and was verified")


def set_queue_sets(ctx, n):
    """hermit.rdma_queues = n, then a new connection; returns the server's
    count of the session's connections."""
    expect_ok("compute", node_run(ctx, "compute", "/bin/sh", ["-c",
              f"echo {n} > /sys/kernel/debug/hermit/rdma/queues"], 30))
    out = rdma_client(ctx, "reconnect", "60")
    expect("state ready" in out, f"no connection with {n} queue sets: {out}")
    want = 1 + 3 * (n or 2)
    conns = rdma_server(ctx, "conns", client_id(ctx), "20", str(want)).split()[-1]
    sets = stats(rdma_client(ctx, "stats"))["queue_sets"]
    expect(conns == str(want) and sets == str(n or 2),
           f"rdma_queues={n}: {sets} queue sets, {conns} connections, expected {want}")
    return conns


@test("rdma: two CPUs share one queue set (hermit.rdma_queues=1): 4 "
      "connections, the workload 4x over memory.max verified", True)
def t_rdma_queue_sets(ctx):
    try:
        conns = set_queue_sets(ctx, 1)
        w0 = int(stats(rdma_client(ctx, "stats"))["writes"])
        line = result_line(rdma_client(ctx, "store", "8", timeout=600))
        w = int(stats(rdma_client(ctx, "stats"))["writes"]) - w0
        expect(w > 1000, f"only {w} pages written over the shared queues")
    finally:
        set_queue_sets(ctx, 0)
    ctx.note(f"{conns} connections with one set; {w} pages written; {line}; "
             "back to one set per CPU (7 connections)")


KEY = "5fa2c1d08e3b47a9" * 4
WRONG_KEY = "0123456789abcdef" * 2


@test("rdma: a shared key: a client without it or with another is refused, "
      "with it the session is authenticated and resumes, every page verified", True)
def t_rdma_key(ctx):
    log = expect_ok("memory", node_run(ctx, "memory", "/bin/sh", ["-c",
                    "dmesg | grep -c 'clients are not authenticated'"], 30))
    expect(int(log.split()[-1]) >= 1, "no 'not authenticated' line while no key is set")
    a0 = int(rdma_server(ctx, "expect", "auth_failures", "0").split()[-1])
    try:
        rdma_server(ctx, "key", KEY)
        # Every session goes, so the client must start a new one.
        rdma_server(ctx, "reset")
        out = rdma_client(ctx, "reconnect", "12", "2")
        expect("state ready" not in out and "requires a key" in out,
               f"a client without the key got in: {out}")
        rdma_client(ctx, "key", WRONG_KEY)
        out = rdma_client(ctx, "reconnect", "12", "2")
        expect("state ready" not in out, f"a client with another key got in: {out}")
        rdma_server(ctx, "expect", "auth_failures", str(a0 + 1), "10")
        rdma_client(ctx, "key", KEY)
        out = rdma_client(ctx, "reconnect", "60")
        expect("state ready" in out and "new session" in out and "authenticated" in out,
               f"the client with the key did not get in: {out}")
        # An authenticated session resumes by its secret: pages held remote
        # across a reconnect come back verified.
        job, go = rdma_hold(ctx, "hold-key")
        held, reads0 = remote_reads(ctx)
        expect(held >= 1024, f"only {held} pages remote")
        out = rdma_client(ctx, "reconnect", "60")
        expect("state ready" in out and "resumed session" in out,
               f"the session was not resumed: {out}")
        rc, out2 = go()
        expect(rc == 0, f"workload after the reconnect: {out2[-1500:]}")
        n = expect_read_back(ctx, held, reads0, out2)
        # A client with a key does not start a session with a server
        # that cannot prove it.
        rdma_server(ctx, "key", "off")
        rdma_server(ctx, "reset")
        out = rdma_client(ctx, "reconnect", "12", "2")
        expect("state ready" not in out and "has no key" in out,
               f"a client with a key started a session with a keyless server: {out}")
    finally:
        rdma_client(ctx, "key", "off")
        rdma_server(ctx, "key", "off")
    # Without keys again: a client gets in as before (the session, which
    # holds no chunk now, may be gone: then it is a new one).
    out = rdma_client(ctx, "reconnect", "60")
    expect("state ready" in out and "server is not authenticated" in out,
           f"no connection without keys: {out}")
    ctx.note(f"no key / another key refused (auth_failures +1); with the key: "
             f"authenticated; {held} pages remote across a resume, {n} read back, "
             "verified; a keyless server refused by the client with a key")


def client_id(ctx, node="compute"):
    ident = next((line.split()[1] for line in
                  rdma_client(ctx, "stats", node=node).splitlines()
                  if line.startswith("client_id ")), None)
    expect(ident, f"{node}: no client_id in the client's stats")
    return ident


def kv(text):
    """'name value name value ...' as a dict."""
    f = text.split()
    return dict(zip(f[::2], f[1::2]))


def stats(text):
    """A stats file, one 'name value...' per line, as {name: last word}."""
    return {f[0]: f[-1] for f in map(str.split, text.splitlines()) if len(f) > 1}


@test("rdma: a control message that cannot be posted (injected): the receive "
      "is flushed, the connection rebuilt, no crash", True)
def t_rdma_ctrl_post_fails(ctx):
    F = "/sys/kernel/debug/hermit/rdma/fail_ctrl_send"
    d0 = int(stats(rdma_client(ctx, "stats"))["disconnects"])
    out = expect_ok("compute", node_run(ctx, "compute", "/bin/sh", ["-c",
                    f"[ -d {F} ] || {{ echo no {F}; exit 1; }}; "
                    f"echo 0 >{F}/verbose; echo 1 >{F}/times; echo 100 >{F}/probability; "
                    f"for i in $(seq 40); do [ $(cat {F}/times) = 0 ] && break; sleep 1; done; "
                    f"echo 0 >{F}/probability; echo times_left $(cat {F}/times)"], 90))
    expect("times_left 0" in out, f"no control message was failed: {out.strip()}")
    rdma_client(ctx, "wait", "ready", "90")
    st = stats(rdma_client(ctx, "stats"))
    expect(int(st["disconnects"]) > d0, f"the connection was not rebuilt: {st}")
    ctx.note(f"disconnects {d0} -> {st['disconnects']}, ready again")


def remote_reads(ctx, node="compute"):
    """(pages Hermit holds, RDMA reads so far) on node."""
    out = expect_ok(node, node_run(ctx, node, "/bin/sh", ["-c",
                    "echo held $(cat /sys/kernel/debug/hermit/pages_held) "
                    "reads $(awk '$1 == \"reads\" { print $2 }' "
                    "/sys/kernel/debug/hermit/rdma/stats)"], 30))
    v = kv(out.strip().splitlines()[-1])
    return int(v["held"]), int(v["reads"])


def expect_read_back(ctx, held, reads0, out):
    """The hold workload's output: its pages came back over RDMA."""
    m = re.findall(r"\breads (\d+)", out)
    expect(m, f"no client stats after the workload: {out[-600:]}")
    n = int(m[-1]) - reads0
    expect(n >= held // 2, f"only {n} pages read from the server, {held} were there")
    return n


@test("rdma: server stopped and restarted within its grace period: stores go "
      "to disk meanwhile, reads resume, no page lost", True)
def t_rdma_restart(ctx):
    job, go = rdma_hold(ctx, "hold-restart")
    held, reads0 = remote_reads(ctx)
    expect(held >= 1024, f"only {held} pages remote before the cut")
    rdma_server(ctx, "stop")
    rdma_client(ctx, "wait", "down", "60")
    out = expect_ok("compute", node_run(ctx, "compute", "/bin/sh",
                                        ["-c", "exec python3 /run/hermit/selftests/pageout.py 64"],
                                        120))
    fields = out.split()
    vals = dict(zip(fields[::2], fields[1::2]))
    expect(int(vals.get("refused_unavailable", 0)) > 0 and int(vals.get("pswpout", 0)) > 0,
           f"stores did not fall back to the disk while down: {out.strip()}")
    rdma_server(ctx, "start", "1G", "300")
    rdma_client(ctx, "wait", "ready", "90")
    rc, out = go()
    expect(rc == 0, f"workload after the restart: {out[-1500:]}")
    n = expect_read_back(ctx, held, reads0, out)
    log = expect_ok("compute", node_run(ctx, "compute", "/bin/sh",
                                        ["-c", "dmesg | grep 'ctrl is ready' | tail -1"], 30))
    expect("resumed session" in log, f"the session was not resumed: {log.strip()}")
    ctx.note(f"{held} pages remote before the cut; while down: " + " ".join(fields) +
             f"; after: resumed, {n} pages read from the server, all verified")


@test("rdma: chunks freed while the server is down are freed on the server "
      "once the session resumes", True)
def t_rdma_pending_free(ctx):
    ident = client_id(ctx)
    rdma_client(ctx, "fill", "8", timeout=600)
    before = rdma_server(ctx, "chunks", ident, "100").split()[-1]
    expect(int(before) > 0, "the server holds no chunk of the client")
    rdma_server(ctx, "stop")
    rdma_client(ctx, "wait", "down", "60")
    off = kv(rdma_client(ctx, "off"))
    expect(int(off.get("frees_pending", 0)) > 0,
           f"no FREE waits for the server: {off}")
    rdma_server(ctx, "start", "1G", "300")
    rdma_client(ctx, "wait", "ready", "90")
    after = rdma_server(ctx, "chunks", ident, "0", "20")
    st = stats(rdma_client(ctx, "stats"))
    expect(st.get("frees_pending") == "0", f"FREEs still pending: {st}")
    ctx.note(f"server held {before} chunks; swapoff while down deferred "
             f"{off['frees_pending']} FREEs; after the resume: {after.strip()}")


@test("rdma: a client's quota on the server (1 MiB, less than a chunk): its "
      "chunk requests are refused, those pages go to the disk, verified", True)
def t_rdma_quota(ctx):
    ident = client_id(ctx)
    q0 = int(rdma_server(ctx, "expect", "refused_quota", "0").split()[-1])
    f0 = int(stats(rdma_client(ctx, "stats"))["refused_full"])
    rdma_server(ctx, "quota", str(1 << 20))
    try:
        out = kv(rdma_client(ctx, "fill", "16", timeout=600).strip().splitlines()[-1])
        expect(out.get("chunks") == "0", f"a chunk was granted past the quota: {out}")
        held = rdma_server(ctx, "chunks", ident, "0")
        refused = int(rdma_server(ctx, "expect", "refused_quota", str(q0 + 1)).split()[-1])
        f = int(stats(rdma_client(ctx, "stats"))["refused_full"]) - f0
        expect(f > 0, "the client saw no refusal")
        expect(int(out["pswpout"]) > 0, f"no page went to the disk: {out}")
        rdma_client(ctx, "off")
    finally:
        rdma_server(ctx, "quota", "0")
    ctx.note(f"quota 1 MiB: {held.strip()}, {refused - q0} chunk requests refused, "
             f"{out['pswpout']} pages to the disk, verified")


@test("rdma: server gone: loads give up together after rdma_load_timeout, "
      "swapoff of 16 MiB ends in seconds, the owner gets SIGBUS", True)
def t_rdma_deadline(ctx):
    job, go = rdma_hold(ctx, "hold-dead", mib=16)
    T = "/sys/kernel/debug/hermit/rdma/load_timeout"
    try:
        expect_ok("compute", node_run(ctx, "compute", "/bin/sh",
                                      ["-c", f"echo 5 >{T}"], 30))
        rdma_server(ctx, "stop")
        rdma_client(ctx, "wait", "down", "60")
        out = expect_ok("compute", node_run(ctx, "compute", "/bin/sh", ["-c",
                        "h=/sys/kernel/debug/hermit; p=$(cat $h/pages_held); "
                        "e0=$(cat $h/load_errors); s=$(date +%s); "
                        "swapoff /dev/vdb; rc=$?; "
                        "echo held $p swapoff $rc secs $(($(date +%s) - s)) "
                        "load_errors $(($(cat $h/load_errors) - e0))"], 240))
        v = kv(out.strip().splitlines()[-1])
        expect(v.get("swapoff") == "0", f"swapoff failed: {out.strip()}")
        expect(int(v["held"]) >= 1024, f"too few pages were remote: {out.strip()}")
        expect(int(v["load_errors"]) > 0, f"no load failed: {out.strip()}")
        expect(int(v["secs"]) <= 90, f"swapoff took too long: {out.strip()}")
        rc, res = go()
        expect(rc == 128 + 7, f"the owner was not killed by SIGBUS: exit {rc}\n{res[-1200:]}")
    finally:
        node_run(ctx, "compute", "/bin/sh", ["-c", f"echo 60 >{T}"], 30)
        rdma_server(ctx, "start", "1G", "300")
    rdma_client(ctx, "wait", "ready", "90")
    ctx.note(f"{v['held']} pages remote, server gone: swapoff in {v['secs']} s "
             f"({v['load_errors']} loads failed), owner SIGBUS")


@test("rdma: RDMA device removed and re-added under held pages: no crash, "
      "reads resume, verified", True)
def t_rdma_device_removal(ctx):
    job, go = rdma_hold(ctx, "hold-remove")
    held, reads0 = remote_reads(ctx)
    expect(held >= 1024, f"only {held} pages remote before the removal")
    expect_ok("compute", node_run(ctx, "compute", "/bin/sh",
                                  ["-c", "rdma link delete rxe0 && sleep 3 && "
                                   "rdma link add rxe0 type rxe netdev eth0"], 120))
    rdma_client(ctx, "wait", "ready", "120")
    rc, out = go()
    expect(rc == 0, f"workload after the device came back: {out[-1500:]}")
    n = expect_read_back(ctx, held, reads0, out)
    ctx.note(f"{held} pages remote before the removal, {n} read from the server after it")


@test("rdma: RDMA device removed under stores in flight: the failed stores are "
      "written again, no page lost, verified", True)
def t_rdma_cut_writes(ctx):
    ctx.note(result_line(rdma_client(ctx, "cut", "writes", timeout=900)))


@test("rdma: RDMA device removed under prefetches in flight: each failed "
      "prefetch read again where needed, no SIGBUS, verified", True)
def t_rdma_cut_prefetches(ctx):
    ctx.note(result_line(rdma_client(ctx, "cut", "prefetches", timeout=900)))


@test("rdma: swapoff, and a cgroup killed and removed, with stores in flight: "
      "no page lost, nothing left held", True)
def t_rdma_busy(ctx):
    ctx.note(result_line(rdma_client(ctx, "busy", timeout=900)))


@test("rdma: server state lost (reset, as a reboot): lost pages cost their owner "
      "SIGBUS, no panic; swap to the new session verified", True)
def t_rdma_lost(ctx):
    job, go = rdma_hold(ctx, "hold-lost")
    rdma_server(ctx, "reset")
    expect_ok("compute", node_run(ctx, "compute", "/bin/sh", ["-c",
              "for i in $(seq 120); do dmesg | grep -q 'lost our chunks' && exit 0; "
              "sleep 1; done; exit 1"], 180))
    rdma_client(ctx, "wait", "ready", "120")
    rc, out = go()
    expect(rc == 128 + 7, f"the workload was not killed by SIGBUS: exit {rc}\n{out[-1200:]}")
    log = expect_ok("compute", node_run(ctx, "compute", "/bin/sh",
                                        ["-c", "dmesg | grep -E 'lost our chunks|lost_pages' ; "
                                         "grep lost_pages /sys/kernel/debug/hermit/rdma/stats"], 30))
    expect("lost our chunks" in log, f"no warning in the log: {log.strip()}")
    out = rdma_client(ctx, "store", "8", timeout=600)
    ctx.note(log.strip().splitlines()[-1] + "; then " + result_line(out))


@test("rdma: two compute nodes share the memory server: neither reaches the "
      "other's chunk, both verified", True)
def t_rdma_two_clients(ctx):
    c = ctx.cluster
    c.start("compute2")
    holds = {}
    try:
        rdma_client(ctx, "connect", c.ip_of("memory", "compute2"), node="compute2")
        # Swap areas of 128 MiB: 1 GiB holds the server's 2 MiB chunks
        # of both clients, and the rogues' one each.
        for n in ("compute", "compute2"):
            holds[n] = rdma_hold(ctx, "hold-two", node=n, swap_mib=128)
        rdma_server(ctx, "expect", "clients_connected", "2")
        chunk = {}
        for n in holds:
            chunk[n] = rdma_server(ctx, "chunk", client_id(ctx, n)).split()
        expect(chunk["compute"] != chunk["compute2"], f"one chunk for both: {chunk}")
        # Each node, as a rogue, tries the other node's chunk by its rkey.
        # With the other's id too: it poses as the other client.
        rogue = {"compute": rdma_rogue(ctx, "compute", chunk["compute2"] +
                                       [client_id(ctx, "compute2")]),
                 "compute2": rdma_rogue(ctx, "compute2", chunk["compute"] +
                                        [client_id(ctx, "compute")])}
        done = {n: go() for n, (job, go) in holds.items()}
        for n, (rc, out, err) in rogue.items():
            expect(rc == 0, f"rogue on {n}: exit {rc}\n{(out + err)[-1500:]}")
            for op in ("reading", "writing"):
                expect(f"ok {op} another client's chunk fails" in out,
                       f"rogue on {n}: no '{op}' case passed:\n{out[-1500:]}")
        for n, (rc, out) in done.items():
            expect(rc == 0, f"{n}'s workload: {out[-1200:]}")
        rdma_client(ctx, "disconnect", node="compute2")
        expect_ok("compute2", node_run(ctx, "compute2", "dmesg_clean.sh", [], 60))
        ctx.note(f"rkeys {chunk['compute'][1]}/{chunk['compute2'][1]}: each other's "
                 f"chunk refused both ways; both workloads verified")
    finally:
        # A workload still waiting for its go must not outlive the test.
        for n in holds:
            path = os.path.join(c.node(n).share, "hold-two")
            if os.path.isdir(path):
                open(os.path.join(path, "go"), "w").close()
        c.stop("compute2")


MODULES = {}


def modules_kernel():
    """Build the kernel of config-modules (HERMIT_MODULES=1; in a
    HERMIT_DEBUG=1 run with config-debug too) once per suite; returns its
    image and the directory of the Hermit RDMA modules.  main() calls it
    before the suite's clock starts: built cold, it takes 20 minutes."""
    if "error" in MODULES:
        raise Fail(MODULES["error"])
    if not MODULES:
        debug = os.environ.get("HERMIT_DEBUG", "0") == "1"
        log = os.path.join(BUILD, "build-debug-modules.log" if debug else "build-modules.log")
        r = sh_progress([BUILD_SH, "build"], "modules kernel", timeout=3600,
                        env={"HERMIT_MODULES": "1"})
        with open(log, "w") as f:
            f.write(r.stdout)
        expect(r.returncode == 0, f"the modules kernel did not build; see {log}:\n"
               + "\n".join(r.stdout.splitlines()[-20:]))
        obj = os.path.join(BUILD, "x86_64-debug-modules" if debug else "x86_64-modules")
        kos = os.path.join(obj, "drivers", "infiniband", "ulp", "hermit")
        for m in ("hermit_rdma.ko", "hermit_server.ko"):
            expect(os.path.isfile(os.path.join(kos, m)), f"no {m} in {kos}")
        MODULES.update(image=os.path.join(obj, "arch", "x86", "boot", "bzImage"), kos=kos)
    return MODULES["image"], MODULES["kos"]


@test("rdma: client and server as modules: load, swap verified, rmmod refused "
      "while pages are held, unload, reload, no leak or splat", True)
def t_rdma_modules(ctx):
    img, kos = modules_kernel()
    c = ctx.cluster
    c.start("compute2", kernel=img)
    holds = []

    def mod(*args):
        return expect_ok("compute2", node_run(ctx, "compute2", "rdma_modules.sh",
                                              list(args), 120))

    try:
        dst = os.path.join(c.node("compute2").share, "modules")
        shutil.rmtree(dst, ignore_errors=True)
        os.makedirs(dst)
        for m in ("hermit_rdma.ko", "hermit_server.ko"):
            shutil.copy(os.path.join(kos, m), dst)
        mod("leaks", "clear")
        notes = []
        # The client module, twice: a load after an unload must work as
        # the first did.
        ip = c.ip_of("memory", "compute2")
        for rnd in (1, 2):
            mod("load", "hermit_rdma", f"server={ip}:50000")
            rdma_client(ctx, "wait", "ready", "60", node="compute2")
            holds.append(("compute2", "hold-mod"))
            job, go = rdma_hold(ctx, "hold-mod", node="compute2", swap_mib=128)
            held, reads0 = remote_reads(ctx, "compute2")
            if held < 1024:
                st = rdma_client(ctx, "stats", node="compute2")
                raise Fail(f"only {held} pages remote on the client module: "
                           + " ".join(st.split()))
            busy = mod("busy", "hermit_rdma").strip().splitlines()[-1]
            rc, out = go()
            expect(rc == 0, f"workload on the client module: {out[-1500:]}")
            n = expect_read_back(ctx, held, reads0, out)
            mod("unload", "hermit_rdma")
            notes.append(f"client load {rnd}: {held} pages remote, {n} read back, "
                         f"verified; rmmod while held: {busy.split(': ', 1)[-1]}")
        # The server module, with the memory node as its client.
        mod("load", "hermit_server", "listen=0.0.0.0", "capacity=256M")
        rdma_client(ctx, "connect", c.ip_of("compute2", "memory"), node="memory")
        holds.append(("memory", "hold-srv"))
        job, go = rdma_hold(ctx, "hold-srv", node="memory", swap_mib=128)
        held, reads0 = remote_reads(ctx, "memory")
        expect(held >= 1024, f"only {held} pages remote on the server module")
        busy = mod("busy", "hermit_server").strip().splitlines()[-1]
        rc, out = go()
        expect(rc == 0, f"workload on the server module: {out[-1500:]}")
        n = expect_read_back(ctx, held, reads0, out)
        rdma_client(ctx, "disconnect", node="memory")
        mod("unload", "hermit_server")
        notes.append(f"server: {held} pages held, rmmod refused, {n} read back, "
                     f"verified, unloaded once the client left")
        notes.append(mod("leaks", "check").strip().splitlines()[-1])
        expect_ok("compute2", node_run(ctx, "compute2", "dmesg_clean.sh", [], 60))
        ctx.note("; ".join(notes))
    finally:
        for n, name in holds:
            path = os.path.join(c.node(n).share, name)
            if os.path.isdir(path):
                open(os.path.join(path, "go"), "w").close()
        c.stop("compute2")
        if c.node("memory").alive():
            node_run(ctx, "memory", "rdma_client.sh", ["disconnect"], 60)


@test("rdma: with registered sinks (ib_core.force_mr=1, as iWARP needs for "
      "READs): every transfer through an MR, every page verified", True)
def t_rdma_mr_sink(ctx):
    # iWARP devices need the sink of an RDMA READ registered; the R/W API
    # does that for them, and ib_core.force_mr=1 makes it do so on rxe too.
    # (siw cannot stand in: as a server it cannot register a 64 MiB chunk.)
    c = ctx.cluster
    c.start("compute2", cmdline="ib_core.force_mr=1")
    try:
        rdma_client(ctx, "connect", c.ip_of("memory", "compute2"), node="compute2")
        mr0 = int(stats(rdma_client(ctx, "stats", node="compute2"))["mr_transfers"])
        # 8 MiB: a registration per transfer is slow (swapoff reads
        # back one page a round trip), more so under KASAN; with 4, the
        # limit of 1 MiB once ended in the OOM killer while writes, each
        # through an MR, held the pages under writeback.
        out = rdma_client(ctx, "store", "8", node="compute2", timeout=900)
        line = result_line(out)
        m = re.search(r"(\d+) pages written to the server, (\d+) read back", line)
        expect(m, f"no page counts in {line!r}")
        mr = int(stats(rdma_client(ctx, "stats", node="compute2"))["mr_transfers"]) - mr0
        # A write of a large folio is one transfer for many pages.
        expect(mr >= int(m.group(2)),
               f"{m.group(2)} pages read back, only {mr} transfers through an MR")
        rdma_client(ctx, "disconnect", node="compute2")
        expect_ok("compute2", node_run(ctx, "compute2", "dmesg_clean.sh", [], 60))
        ctx.note(f"{line}; {mr} transfers through a registered MR")
    finally:
        c.stop("compute2")
        c.node("compute2").cmdline = ""


def servers(ctx, node="compute"):
    """The client's servers file as {address: {field: int or str}}."""
    out = rdma_client(ctx, "servers", node=node)
    names = ("state", "chunks", "room", "reads", "writes", "lost", "session", "pages")
    res = {}
    for line in out.splitlines():
        f = line.split()
        if line.startswith("#") or len(f) != len(names) + 1:
            continue
        res[f[0]] = {k: int(v) if v.lstrip("-").isdigit() else v
                     for k, v in zip(names, f[1:])}
    return res


def set_capacity(ctx, cap):
    expect_ok("memory", node_run(ctx, "memory", "/bin/sh", ["-c",
              f"echo {cap} >/sys/kernel/debug/hermit/server/capacity"], 30))


def ip_port(ip):
    return f"{ip}:50000"


def mem2_up(ctx):
    """Boot mem2 with a memory server, both servers lending 512 MiB (mem2
    has 1 GiB; the same room on both, which the client learns as it
    connects: chunks alternate between them); returns the addresses of
    memory's and mem2's servers as compute reaches them."""
    c = ctx.cluster
    c.start("mem2")
    set_capacity(ctx, "512M")
    rdma_server(ctx, "start", "512M", "30", node="mem2")
    return ip_port(c.ip_of("memory", "compute")), ip_port(c.ip_of("mem2", "compute"))


def mem2_done(ctx, holds, cap0, mem_stopped=False):
    """The end of a test with mem2: the held workloads released, the
    memory node's server started again if it was stopped, the client's
    knobs and the capacity as before, mem2 powered off."""
    for name in holds:
        path = os.path.join(ctx.cluster.node("compute").share, name)
        if os.path.isdir(path):
            open(os.path.join(path, "go"), "w").close()
    if mem_stopped:
        node_run(ctx, "memory", "rdma_server.sh", ["start", "512M", "300"], 60)
    node_run(ctx, "compute", "/bin/sh", ["-c",
             "echo 1 >/sys/kernel/debug/hermit/rdma/replicas; "
             "echo 60 >/sys/kernel/debug/hermit/rdma/load_timeout"], 30)
    set_capacity(ctx, cap0)
    ctx.cluster.stop("mem2")


@test("rdma: two memory servers: chunks spread over both by room; one "
      "dropped is drained (its chunks move, every page verified); one "
      "powered off cannot be drained and stays, its pages' owner gets SIGBUS, no "
      "panic, the other server serves a verified workload", True)
def t_rdma_two_servers(ctx):
    c = ctx.cluster
    cap0 = stats(rdma_server(ctx, "stats"))["capacity"]
    holds = []
    try:
        mem, mem2 = mem2_up(ctx)
        rdma_client(ctx, "connect", f"{mem},{mem2}")
        conn = rdma_client(ctx, "wait", "ready", "60")
        expect(mem in conn and mem2 in conn, f"not both servers: {conn}")
        holds.append("hold-srv")
        job, go = rdma_hold(ctx, "hold-srv", mib=8, swap_mib=128)
        s = servers(ctx)
        expect(s[mem]["chunks"] > 0 and s[mem2]["chunks"] > 0,
               f"chunks not on both servers: {s}")
        for a in (mem, mem2):
            expect(s[a]["writes"] > 0, f"server {a} was not written to: {s}")
        spread = ", ".join(f"{a}: {s[a]['chunks']} chunks, {s[a]['writes']} written"
                           for a in (mem, mem2))
        # mem2 dropped while it holds chunks: drained in the background
        # ('connect' waits until it is forgotten), mem then serves every page.
        st0 = stats(rdma_client(ctx, "stats"))
        moved = s[mem2]["chunks"]
        t0 = time.time()
        rdma_client(ctx, "connect", mem)
        took = time.time() - t0
        s, st = servers(ctx), stats(rdma_client(ctx, "stats"))
        drained = int(st["drained_chunks"]) - int(st0["drained_chunks"])
        expect(mem2 not in s and drained == moved and s[mem]["chunks"] == int(st["chunks"]),
               f"mem2 not drained to mem ({drained} of {moved} chunks moved): {s} {st}")
        r0 = s[mem]["reads"]
        rc, out = go()
        expect(rc == 0, f"workload after the drain: exit {rc}\n{out[-1200:]}")
        s = servers(ctx)
        expect(s[mem]["reads"] > r0, f"no reads from {mem} after the drain: {s}")
        spread += f"; mem2 dropped: {drained} chunks moved to mem in {took:.0f} s, verified"
        rdma_client(ctx, "connect", f"{mem},{mem2}")

        # Power mem2 off under a workload with pages there.
        holds.append("hold-srv2")
        job, go = rdma_hold(ctx, "hold-srv2", mib=8, swap_mib=128)
        s = servers(ctx)
        expect(s[mem2]["chunks"] > 0, f"no chunk on mem2: {s}")
        expect_ok("compute", node_run(ctx, "compute", "/bin/sh", ["-c",
                  "echo 5 >/sys/kernel/debug/hermit/rdma/load_timeout"], 30))
        at_risk = s[mem2]["pages"]
        expect(at_risk > 0, f"no pages reported on mem2: {s}")
        c.stop("mem2")
        # Its pages are nowhere else: the drain stalls, stops, and mem2 stays.
        f0 = int(stats(rdma_client(ctx, "stats"))["drain_failures"])
        client_sh(ctx, f"echo {mem} >/sys/kernel/debug/hermit/connect")
        expect(servers(ctx)[mem2]["state"] == "draining", f"not draining: {servers(ctx)}")
        s = wait_servers(ctx, lambda x: x[mem2]["state"] != "draining",
                         "the stalled drain stopping", 120)
        st = stats(rdma_client(ctx, "stats"))
        expect(int(st["drain_failures"]) == f0 + 1, f"drain_failures not counted: {st}")
        rc, out = go()
        expect(rc == 128 + 7, f"the workload with pages on the dead server was not "
                              f"killed by SIGBUS: exit {rc}\n{out[-1200:]}")
        s = servers(ctx)
        expect(s[mem]["state"] == "ready" and s[mem2]["state"] != "ready",
               f"states after the power-off: {s}")
        # New pages go to the server that is left.
        w0 = s[mem]["writes"]
        out = rdma_client(ctx, "fill", "8", timeout=600)
        s = servers(ctx)
        expect(s[mem]["writes"] > w0, f"no writes to {mem} after mem2 died: {s}")
        # Its chunks are gone with their owner: mem2 can be dropped now.
        rdma_client(ctx, "connect", mem)
        conn = rdma_client(ctx, "wait", "ready", "10")
        expect(mem2 not in conn, f"mem2 still set: {conn}")
        expect_ok("compute", node_run(ctx, "compute", "dmesg_clean.sh", [], 60))
        ctx.note(f"{spread}; mem2 powered off holding {at_risk} pages: SIGBUS for the owner, then "
                 f"{out.strip().splitlines()[-1]}")
    finally:
        mem2_done(ctx, holds, cap0)


def client_sh(ctx, cmd, timeout=30):
    return expect_ok("compute", node_run(ctx, "compute", "/bin/bash", ["-c", cmd], timeout))


def wait_client(ctx, cond, what, secs=90):
    """Poll the client's stats until cond(stats) holds; returns them."""
    deadline = time.time() + secs
    while True:
        st = stats(rdma_client(ctx, "stats"))
        if cond(st):
            return st
        expect(time.time() < deadline, f"{what} not within {secs} s: {st}")
        time.sleep(2)


@test("rdma: replicas=2: every chunk on both servers; one powered off under "
      "a workload: no page lost, no SIGBUS, loads fail over; rebooted: the "
      "chunks made while it was gone are copied to it, and serve every page "
      "alone", True)
def t_rdma_replicas(ctx):
    c = ctx.cluster
    cap0 = stats(rdma_server(ctx, "stats"))["capacity"]
    holds = []
    mem_stopped = False
    try:
        mem, mem2 = mem2_up(ctx)
        rdma_client(ctx, "connect", f"{mem},{mem2}")
        client_sh(ctx, "echo 2 >/sys/kernel/debug/hermit/rdma/replicas")
        st0 = stats(rdma_client(ctx, "stats"))
        holds.append("hold-rep")
        job, go = rdma_hold(ctx, "hold-rep", mib=8, swap_mib=128)
        s = servers(ctx)
        expect(s[mem]["chunks"] > 0 and s[mem]["chunks"] == s[mem2]["chunks"],
               f"chunks not copied to both servers: {s}")
        chunks = s[mem]["chunks"]

        # mem2 powered off under the workload: every page from the copy left.
        c.stop("mem2")
        rc, out = go()
        expect(rc == 0, f"the workload lost pages with one of two copies gone: "
                        f"exit {rc}\n{out[-1200:]}")
        st = stats(rdma_client(ctx, "stats"))
        fo = int(st["read_failovers"]) - int(st0["read_failovers"])
        lost = int(st["lost_pages"]) - int(st0["lost_pages"])
        expect(lost == 0, f"{lost} pages lost: {st}")
        expect(fo > 0, f"no load failed over to the other copy: {st}")
        expect(st["degraded"] == "1", f"not degraded with one server left: {st}")

        # A workload while mem2 is gone: one copy of each chunk. mem2 boots
        # again (a new session): the worker copies them there.
        holds.append("hold-rep2")
        job, go = rdma_hold(ctx, "hold-rep2", mib=8, swap_mib=128)
        s = servers(ctx)
        expect(s[mem]["chunks"] > 0 and s[mem2]["chunks"] == 0,
               f"chunks on a server that is off: {s}")
        c.start("mem2")
        rdma_server(ctx, "start", "512M", "30", node="mem2")
        rdma_client(ctx, "wait", "ready", "90")
        st = wait_client(ctx, lambda x: x["degraded_chunks"] == "0" and
                         int(x["repair_pages"]) > int(st0["repair_pages"]),
                         "re-replication onto mem2")
        s = servers(ctx)
        expect(s[mem2]["chunks"] == s[mem]["chunks"],
               f"not every chunk copied to mem2: {s}")
        repaired = int(st["repair_pages"]) - int(st0["repair_pages"])

        # The memory node's server stopped: mem2's copies alone serve.
        rdma_server(ctx, "stop")
        mem_stopped = True
        rc, out = go()
        expect(rc == 0, f"mem2's copies did not serve every page: exit {rc}\n{out[-1200:]}")
        st = stats(rdma_client(ctx, "stats"))
        lost = int(st["lost_pages"]) - int(st0["lost_pages"])
        expect(lost == 0, f"{lost} pages lost: {st}")
        rdma_server(ctx, "start", "512M", "300")
        mem_stopped = False
        rdma_client(ctx, "wait", "ready", "90")
        # Their copies went with the workloads: mem2 can be dropped, and
        # set again.
        rdma_client(ctx, "connect", mem)
        try:
            rdma_client(ctx, "connect", f"{mem},{mem2}")
        except Fail as e:
            diag = node_run(ctx, "compute", "/bin/sh", ["-c", "cat /sys/kernel/debug/hermit/rdma/servers; "
                            "echo w >/proc/sysrq-trigger; dmesg | tail -120"], 60)[1]
            raise Fail(f"{e}\n{diag}")
        rdma_client(ctx, "connect", mem)
        expect_ok("compute", node_run(ctx, "compute", "dmesg_clean.sh", [], 60))
        ctx.note(f"{chunks} chunks on both; mem2 powered off: workload verified, "
                 f"{fo} loads failed over; rebooted: {repaired} pages copied back "
                 f"to it, which then served a workload alone; {lost} pages lost")
    finally:
        mem2_done(ctx, holds, cap0, mem_stopped)


@test("rdma: replicas=2 and a partition longer than the timeouts: no page "
      "lost, no SIGBUS; healed, the session resumes and the server alone "
      "serves a verified workload", True)
def t_rdma_partition(ctx):
    c = ctx.cluster
    mem, mem2 = ip_port(c.ip_of("memory", "compute")), ip_port(c.ip_of("mem2", "compute"))
    cap0 = stats(rdma_server(ctx, "stats"))["capacity"]
    c.start("mem2")
    holds = []
    mem_stopped = False
    try:
        set_capacity(ctx, "512M")
        rdma_server(ctx, "start", "512M", "300", node="mem2")
        rdma_client(ctx, "connect", f"{mem},{mem2}")
        client_sh(ctx, "echo 2 >/sys/kernel/debug/hermit/rdma/replicas; "
                  "echo 5 >/sys/kernel/debug/hermit/rdma/load_timeout")
        st0 = stats(rdma_client(ctx, "stats"))
        session = servers(ctx)[mem2]["session"]
        holds.append("hold-part")
        job, go = rdma_hold(ctx, "hold-part", mib=8, swap_mib=128)
        # The link cut at mem2, for longer than the client's I/O and
        # control timeouts and the server's 30 s of silence.
        t0 = time.time()
        expect_ok("mem2", node_run(ctx, "mem2", "/bin/sh", ["-c", "ip link set eth0 down"], 30))
        wait_servers(ctx, lambda s: s[mem2]["state"] != "ready", "the client seeing the cut")
        rc, out = go()
        expect(rc == 0, f"the workload failed with mem2 cut off: exit {rc}\n{out[-1200:]}")
        time.sleep(max(0, 40 - (time.time() - t0)))
        cut = time.time() - t0
        expect_ok("mem2", node_run(ctx, "mem2", "/bin/sh", ["-c", "ip link set eth0 up"], 30))
        try:
            s = wait_servers(ctx, lambda s: s[mem2]["state"] == "ready", "the reconnect", 120)
        except Fail as e:
            diag = [node_run(ctx, n, "/bin/sh", ["-c", "ip -br addr; rdma res show qp; ip neigh; "
                                                 "cat /sys/kernel/debug/hermit/rdma/servers; "
                                                 "echo w >/proc/sysrq-trigger; dmesg | "
                                                 "grep -iE 'hermit|rxe|sysrq|blocked' | tail -40"],
                             60)[1]
                    for n in ("mem2", "compute")]
            raise Fail(f"{e}\nmem2:\n{diag[0]}\ncompute:\n{diag[1]}")
        expect(s[mem2]["session"] == session,
               f"mem2's session {session} not resumed after the cut: {s}")
        # A new workload on both; the memory node's server stopped: mem2 alone.
        holds.append("hold-part2")
        job, go = rdma_hold(ctx, "hold-part2", mib=8, swap_mib=128)
        s = servers(ctx)
        expect(s[mem2]["chunks"] == s[mem]["chunks"] > 0, f"not on both: {s}")
        rdma_server(ctx, "stop")
        mem_stopped = True
        rc, out = go()
        expect(rc == 0, f"mem2 alone did not serve every page: exit {rc}\n{out[-1200:]}")
        rdma_server(ctx, "start", "512M", "300")
        mem_stopped = False
        rdma_client(ctx, "wait", "ready", "90")
        st = stats(rdma_client(ctx, "stats"))
        lost = int(st["lost_pages"]) - int(st0["lost_pages"])
        expect(lost == 0, f"{lost} pages lost: {st}")
        rdma_client(ctx, "connect", mem)
        expect_ok("mem2", node_run(ctx, "mem2", "dmesg_clean.sh", [], 60))
        ctx.note(f"mem2 cut off for {cut:.0f} s: workload verified from the other copy; "
                 f"healed: session {session} resumed, then mem2 alone served a "
                 f"verified workload; {lost} pages lost")
    finally:
        mem2_done(ctx, holds, cap0, mem_stopped)


def wait_servers(ctx, cond, what, secs=90):
    """Poll rdma/servers until cond(servers) holds; returns them."""
    deadline = time.time() + secs
    while True:
        s = servers(ctx)
        if cond(s):
            return s
        expect(time.time() < deadline, f"{what} not within {secs} s: {s}")
        time.sleep(2)


def server_clients(ctx, node):
    """The chunks the memory server on node holds per client."""
    out = rdma_server(ctx, "clients", node=node)
    return {f[1]: int(f[f.index("chunks") + 1]) for f in map(str.split, out.splitlines())
            if len(f) > 2 and f[0] == "client" and "chunks" in f}


@test("rdma: two clients and two servers at once: each client's chunks on "
      "both servers, each server lends to both clients, every page verified", True)
def t_rdma_clients_servers(ctx):
    c = ctx.cluster
    cap0 = stats(rdma_server(ctx, "stats"))["capacity"]
    holds = []
    try:
        mem, mem2 = mem2_up(ctx)
        # compute2 boots after mem2: it gets its link to it.
        c.start("compute2")
        ip2 = c.ip_of("mem2", "compute2")
        expect(ip2 is not None, "compute2 has no link to mem2")
        lists = {"compute": f"{mem},{mem2}",
                 "compute2": f"{ip_port(c.ip_of('memory', 'compute2'))},{ip_port(ip2)}"}
        for node, lst in lists.items():
            rdma_client(ctx, "connect", lst, node=node)
        for node, lst in lists.items():
            conn = rdma_client(ctx, "wait", "ready", "60", node=node)
            expect(all(a in conn for a in lst.split(",")),
                   f"{node} is not connected to both servers: {conn}")
        # Both workloads swap out at the same time, then verify.
        jobs = {node: rdma_hold_start(ctx, "hold-2c", node=node, swap_mib=128)
                for node in lists}
        holds += list(lists)
        gos = {node: rdma_hold_wait(ctx, "hold-2c", job, node=node)
               for node, job in jobs.items()}
        spread = {node: servers(ctx, node) for node in lists}
        for node, s in spread.items():
            expect(len(s) == 2 and all(v["chunks"] > 0 and v["writes"] > 0
                                       for v in s.values()),
                   f"{node}'s chunks not on both servers: {s}")
        lent = {m: server_clients(ctx, m) for m in ("memory", "mem2")}
        for m, cl in lent.items():
            expect(sum(1 for v in cl.values() if v > 0) == 2,
                   f"the server on {m} does not lend to both clients: {cl}")
        for node, go in gos.items():
            rc, out = go()
            expect(rc == 0, f"{node}'s workload: exit {rc}\n{out[-1200:]}")
        for node, s in ((n, servers(ctx, n)) for n in lists):
            expect(all(v["reads"] > 0 for v in s.values()),
                   f"{node} did not read from both servers: {s}")
        for node in lists:
            rdma_client(ctx, "connect", lists[node].split(",")[0], node=node)
            expect_ok(node, node_run(ctx, node, "dmesg_clean.sh", [], 60))
        ctx.note("; ".join(f"{node}: " + ", ".join(f"{v['chunks']} chunks on {a}"
                                                   for a, v in s.items())
                           for node, s in spread.items()) + "; every page verified")
    finally:
        for node in holds:
            path = os.path.join(c.node(node).share, "hold-2c")
            if os.path.isdir(path):
                open(os.path.join(path, "go"), "w").close()
        if c.node("compute2").alive():
            node_run(ctx, "compute2", "rdma_client.sh", ["disconnect"], 60)
        c.stop("compute2")
        set_capacity(ctx, cap0)
        c.stop("mem2")


@test("cluster: no WARN/BUG/KASAN/lockdep in either kernel log", True)
def t_dmesg(ctx):
    for node in ("compute", "memory"):
        expect_ok(node, node_run(ctx, node, "dmesg_clean.sh", [], 60))


@test("hermit: DRAM backend, 4x over cgroup v1 limit_in_bytes (cgcreate/cgexec)", True)
def t_hermit_store_v1(ctx):
    n = ctx.cluster.node("compute")
    ctx.cluster.restart("compute", (n.cmdline + " hvm.cgroup=1").strip())
    hermit_swap(ctx, "store", "v1")
    expect_ok("compute", node_run(ctx, "compute", "dmesg_clean.sh", [], 60))


@test("offload: cgroup v1 (cgcreate/cgexec), 2x and 4x over limit_in_bytes", True)
def t_offload_v1(ctx):
    if "hvm.cgroup=1" not in ctx.cluster.node("compute").cmdline:
        n = ctx.cluster.node("compute")
        ctx.cluster.restart("compute", (n.cmdline + " hvm.cgroup=1").strip())
    notes = [result_line(offload(ctx, "ratio", "v1", f)) for f in ("2", "4")]
    ctx.notes[:] = ["; ".join(notes)]
    expect_ok("compute", node_run(ctx, "compute", "dmesg_clean.sh", [], 60))


@test("hermit: syscaller.py on cgroup v1: counters equal debugfs's, a memory "
      "cgroup's line its memory.stat; /proc/vmstat, memory.stat (total_ too) "
      "and tracepoints count the same pages", True)
def t_hermit_syscalls_v1(ctx):
    n = ctx.cluster.node("compute")
    if "hvm.cgroup=1" not in n.cmdline:
        ctx.cluster.restart("compute", (n.cmdline + " hvm.cgroup=1").strip())
    ctx.note(result_line(hermit_swap(ctx, "syscalls", "v1")))


# The tests that expect the client connected to the server, as the one
# before leaves it: from the connect test to the dmesg check.
_FNS = [t[1] for t in TESTS]
RDMA_SESSION = set(_FNS[_FNS.index(t_rdma_connect) + 1:_FNS.index(t_dmesg)])

# Under MTTCG a vCPU now and then runs an int3 that text_poke_bp() had
# already replaced (a static key or tracepoint flipped), which no kernel
# can handle: it kills the node whatever the test did.
INT3_OOPS = "Oops: int3"


def dmesg_clean_pattern():
    """dmesg_clean.sh's pattern of kernel reports, as a regex."""
    with open(os.path.join(SELFTESTS, "dmesg_clean.sh")) as f:
        return re.compile(re.search(r"^pat='(.*)'$", f.read(), re.M).group(1))


def once_more_after_int3(ctx, i, name, fn, marks):
    """Test i failed: if a node's console shows INT3_OOPS since marks,
    run it once more on a fresh cluster (with the RDMA session it expects)
    and return True; False if no node died of it. Kernel reports before
    the oops fail the test: the dmesg test sees only the fresh cluster."""
    fault = next(((n, t) for n, t in ctx.consoles(marks) if INT3_OOPS in t), None)
    if not fault:
        return False
    node, text = fault
    ctx.int3_faults += 1
    line = next(x for x in text.splitlines() if INT3_OOPS in x).strip()
    print(f"# {name}: node {node.name} died of QEMU's int3 fault ({line}); its "
          f"console is kept in test-logs/int3-{i}-{node.name}.log; the test runs "
          "once more on a fresh cluster", flush=True)
    pat = dmesg_clean_pattern()
    reports = [f"{n.name}: {x.strip()}" for n, t in ctx.consoles()
               for x in t.split(INT3_OOPS)[0].splitlines()
               if pat.search(x) and " traps: " not in x]
    ctx.notes.clear()
    try:
        ctx.fresh_cluster(f"int3-{i}")
        if fn in RDMA_SESSION:
            t_rdma_connect(ctx)
    except (Fail, vm.ClusterError, subprocess.TimeoutExpired) as e:
        # Every later test would fail for this, not for itself.
        ctx.cluster_error = (f"the cluster booted again after QEMU's int3 fault in "
                             f"test {i} is not ready: {str(e).splitlines()[0]}")
        raise Fail(ctx.cluster_error)
    expect(not reports, "the kernel logs held reports before the int3 fault:\n" +
           "\n".join(reports[:20]))
    fn(ctx)
    return True


# ------------------------------------------------------------------- runner

class Context:
    def __init__(self, args):
        self.args = args
        self.cluster = None
        self.cluster_error = None
        self.notes = []
        self.int3_faults = 0
        self.tmp = tempfile.mkdtemp(prefix="hermit-test-")

    def note(self, text):
        if text:
            self.notes.append(text)

    def start_cluster(self):
        self.cluster = vm.boot_test_cluster(
            os.path.join(BUILD, f"vm-test-{os.getpid()}"), self.tmp)

    def hung(self, node):
        """A node did not answer: kill it (its console log stays)."""
        self.cluster.node(node).kill()
        self.cluster_error = f"node {node} hung and was killed"

    def console_marks(self):
        """Where each node's console log ends now (see consoles())."""
        marks = {}
        for n in (self.cluster.nodes.values() if self.cluster else ()):
            try:
                st = os.stat(n.console_log)
                marks[n.name] = (st.st_ino, st.st_size)
            except OSError:
                pass
        return marks

    def consoles(self, marks=None):
        """(node, text) of each node's console log: since marks (a
        console_marks()) when given, the whole boot otherwise."""
        for n in (self.cluster.nodes.values() if self.cluster else ()):
            try:
                with open(n.console_log, "rb") as f:
                    ino, size = (marks or {}).get(n.name, (None, 0))
                    if os.fstat(f.fileno()).st_ino == ino:
                        f.seek(size)
                    yield n, f.read().decode(errors="replace")
            except OSError:
                continue

    def fresh_cluster(self, tag):
        """Keep the console logs (as test-logs/TAG-NODE.log), stop the
        cluster and boot a new one."""
        logs = os.path.join(BUILD, "test-logs")
        os.makedirs(logs, exist_ok=True)
        for n in self.cluster.nodes.values():
            if os.path.exists(n.console_log):
                shutil.copy(n.console_log, os.path.join(logs, f"{tag}-{n.name}.log"))
        self.cluster.down()
        shutil.rmtree(self.cluster.dir, ignore_errors=True)
        shutil.rmtree(os.path.join(self.tmp, "selftests"), ignore_errors=True)
        self.cluster = None
        self.cluster_error = None
        self.start_cluster()

    def teardown(self):
        if self.cluster is not None:
            self.cluster.down()
            logs = os.path.join(BUILD, "test-logs")
            os.makedirs(logs, exist_ok=True)
            for n in self.cluster.nodes.values():
                for suffix in ("", ".old"):
                    if os.path.exists(n.console_log + suffix):
                        shutil.copy(n.console_log + suffix,
                                    os.path.join(logs, f"{n.name}-console.log{suffix}"))
            shutil.rmtree(self.cluster.dir, ignore_errors=True)
            print(f"# console logs: {logs}", flush=True)
            self.cluster = None
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", action="append", default=[], metavar="SUBSTRING")
    args = ap.parse_args()
    tests = [t for t in TESTS if not args.k or any(k in t[0] for k in args.k)]
    ctx = Context(args)

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    print(f"TAP version 13\n1..{len(tests)}", flush=True)
    if any(t[1] is t_rdma_modules for t in tests):
        # Outside the suite's clock: on a machine whose ccache has not
        # seen it, this kernel takes 20 minutes.
        t0 = time.time()
        try:
            modules_kernel()
        except Fail as e:
            MODULES["error"] = str(e)
        how = "did not build" if "error" in MODULES else "built"
        print(f"# the modules kernel {how} in {time.time() - t0:.0f} s", flush=True)

    def on_alarm(signum, frame):
        raise SuiteDeadline(f"suite deadline of {SUITE_DEADLINE} s passed")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(SUITE_DEADLINE)

    passed = failed = skipped = 0
    started = time.time()
    done = 0
    try:
        for i, (name, fn, needs_cluster) in enumerate(tests, 1):
            t0 = time.time()
            try:
                if needs_cluster:
                    if ctx.cluster_error:
                        raise Fail(ctx.cluster_error)
                    if ctx.cluster is None:
                        try:
                            ctx.start_cluster()
                        except vm.ClusterError as e:
                            ctx.cluster_error = f"cluster did not start: {e}"
                            raise Fail(ctx.cluster_error)
                marks = ctx.console_marks()
                try:
                    fn(ctx)
                except (Fail, vm.ClusterError, subprocess.TimeoutExpired):
                    if not (needs_cluster and once_more_after_int3(ctx, i, name, fn, marks)):
                        raise
                passed += 1
                extra = f" ({ctx.notes.pop()})" if ctx.notes else ""
                print(f"ok {i} - {name} [{time.time() - t0:.0f}s]{extra}", flush=True)
            except Skip as e:
                skipped += 1
                print(f"ok {i} - {name} # SKIP {e}", flush=True)
            except (Fail, vm.ClusterError, subprocess.TimeoutExpired) as e:
                failed += 1
                print(f"not ok {i} - {name} [{time.time() - t0:.0f}s]", flush=True)
                for line in str(e).splitlines():
                    print(f"#   {line}", flush=True)
            except Exception:
                failed += 1
                print(f"not ok {i} - {name}", flush=True)
                for line in traceback.format_exc().splitlines():
                    print(f"#   {line}", flush=True)
            ctx.notes.clear()
            done = i
    except (KeyboardInterrupt, SuiteDeadline) as e:
        for j in range(done + 1, len(tests) + 1):
            why = f"interrupted: {e}" if j == done + 1 else "not run"
            print(f"not ok {j} - {tests[j - 1][0]} # {why}", flush=True)
            failed += 1
    finally:
        signal.alarm(0)
        ctx.teardown()
    print(f"# suite took {time.time() - started:.0f} s", flush=True)
    if ctx.int3_faults:
        print(f"# QEMU's int3 fault killed a node {ctx.int3_faults} time(s); "
              "see the lines that say which test and what followed", flush=True)
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
