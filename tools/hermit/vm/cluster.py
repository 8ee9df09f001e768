#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The Hermit test cluster: QEMU/TCG nodes on private point-to-point links.

Every node boots the built bzImage with the shared Debian root (copy-on-write
per node, discarded on exit) and has its own sparse swap disk. The hub (the
memory node) has one NIC per other node; each other node has one NIC, linked
to the hub's by a unix socket in the cluster's directory (the hub listens,
the other node connects) and on a /24 of its own: 10.77.K.1 the node,
10.77.K.2 the hub. There is no route off these links, nor any network
address on the host. Soft-RoCE (rxe0, rxe1, ...) comes up at boot on every
NIC. Spare nodes (compute2, mem2) are wired but booted only on demand ('vm
start'). mem2, a second memory node, has no hub link: it connects to compute
and listens for compute2, whose link to it is there only when mem2 runs as
compute2 boots (QEMU 7.2's stream client does not reconnect: rebooting mem2
cuts that link until compute2 boots again).

The host talks to a node through a 9p share (the job directory): a job is a
script copied in, run as root by the node's agent, with stdout, stderr and
exit code left beside it until the host has collected them. The serial console is a unix socket, logged to
console.log in the node's directory.

Used by build_kernel.sh ('vm up|down|status|shell|run', 'test', 'demo'),
which passes HERMIT_KERNEL, HERMIT_ROOTFS, HERMIT_KREL and HERMIT_VM_DIR.
"""

import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NET = "10.77"
# Booted by 'vm up'; the last one is the hub.
DEFAULT_NODES = ("compute", "memory")
# Wired, booted by 'vm start NODE': compute2 to the hub, mem2 (a second
# memory node) to compute and compute2.
SPARE_NODES = ("compute2", "mem2")
# Nodes without a link to the hub.
OFF_HUB = ("mem2",)
# Links besides the hub's, as (listening node, connecting node): the
# connecting node can be powered off and booted again on its own. A link
# whose listening node is a spare one is optional: the connecting node
# boots without it when that node is not running.
EXTRA_LINKS = (("compute", "mem2"), ("mem2", "compute2"))
DEFAULT_MEM_MB = {"compute": 1024, "compute2": 1024, "memory": 1536,
                  "mem2": 1024}
SWAP_DISK_BYTES = 4 << 30
BOOT_TIMEOUT = 240
# Extra seconds the host waits past a job's own timeout before it calls the
# node hung (the agent kills the job at its timeout, +10 s for SIGKILL).
HUNG_GRACE = 45
# HERMIT_TRACE_JOBS=1: each job's script, arguments and time on stderr.
TRACE = os.environ.get("HERMIT_TRACE_JOBS", "0") == "1"


class ClusterError(Exception):
    pass


def _listening(path):
    """Whether a unix socket listens at path (found without connecting,
    which would use up QEMU's single accept)."""
    try:
        with open("/proc/net/unix") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                # Flags 00010000: __SO_ACCEPTCON, a listening socket.
                if len(fields) >= 8 and fields[7] == path and fields[3] == "00010000":
                    return True
    except OSError:
        pass
    return False


def _die_with_parent():
    """preexec_fn: SIGKILL the QEMU child if the test runner dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours is not alive.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)\n"


class Link:
    """One end of a point-to-point link: the unix socket carrying the
    Ethernet frames, and this end's address and MAC."""

    def __init__(self, k, sock, listen, high, optional=False):
        self.k = k
        self.sock = sock
        self.listen = listen
        self.optional = optional
        self.ip = f"{NET}.{k}.{2 if high else 1}"
        self.mac = f"52:54:00:77:{k:02x}:{2 if high else 1:02x}"


class Node:
    def __init__(self, cluster, name, state=None):
        self.cluster = cluster
        self.name = name
        self.links = []
        self.dir = os.path.join(cluster.dir, name)
        self.share = os.path.join(self.dir, "share")
        self.console_log = os.path.join(self.dir, "console.log")
        self.console_sock = os.path.join(self.dir, "console.sock")
        self.monitor_sock = os.path.join(self.dir, "monitor.sock")
        self.proc = None
        self.pid = (state or {}).get("pid")
        self.cmdline = (state or {}).get("cmdline", "")
        self.mem_mb = (state or {}).get("mem_mb", DEFAULT_MEM_MB.get(name, 1024))
        # A kernel image of its own (None: the cluster's).
        self.kernel = (state or {}).get("kernel")

    @property
    def ip(self):
        """The node's first address (the hub's on its first link)."""
        return self.links[0].ip

    def state(self):
        return {"name": self.name, "ip": self.ip, "pid": self.pid,
                "cmdline": self.cmdline,
                "mem_mb": self.mem_mb, "kernel": self.kernel}

    def alive(self):
        if self.proc is not None:
            return self.proc.poll() is None
        return _pid_alive(self.pid)

    def qemu_argv(self, kernel, rootfs, smp, links):
        ips = ",".join(f"{link.ip}/24" for link in links)
        # tsc=reliable: under TCG on a busy host the clocksource watchdog
        # marks the TSC unstable, and the static keys that flips are patched
        # with int3 while other vCPUs run, which TCG can trip over
        # ("Oops: int3" in sched_clock_cpu, seen killing a node mid-run).
        # no5lvl, for the KASAN kernel (HERMIT_DEBUG=1) only: with TCG's
        # 5-level paging, an interrupt while identify_cpu() rebuilds the
        # boot CPU's features makes KASAN see the 5-level direct map as a
        # wild address ("wild-memory-access in do_raw_spin_lock", before
        # Hermit starts), which turns lockdep off for the whole run.
        debug = " no5lvl" if os.environ.get("HERMIT_DEBUG") == "1" else ""
        append = (f"console=ttyS0 root=/dev/vda rw init=/sbin/hermit-init "
                  f"tsc=reliable panic=-1 hvm.node={self.name} hvm.ip={ips}{debug} "
                  f"{self.cmdline}").strip()
        nics = []
        for i, link in enumerate(links):
            nics += ["-netdev", f"stream,id=n{i},server={'on' if link.listen else 'off'},"
                                f"addr.type=unix,addr.path={link.sock}",
                     "-device", f"virtio-net-pci,netdev=n{i},mac={link.mac}"]
        return [
            "qemu-system-x86_64", "-name", f"hermit-{self.name}",
            "-accel", "tcg,thread=multi", "-cpu", "max",
            "-smp", str(smp), "-m", str(self.mem_mb),
            "-display", "none", "-no-reboot",
            "-chardev", f"socket,id=con,path={self.console_sock},server=on,"
                        f"wait=off,logfile={self.console_log}",
            "-serial", "chardev:con",
            "-monitor", f"unix:{self.monitor_sock},server=on,wait=off",
            "-kernel", kernel, "-append", append,
            "-drive", f"file={rootfs},if=virtio,format=raw,snapshot=on",
            "-drive", f"file={os.path.join(self.dir, 'swap.img')},if=virtio,"
                      f"format=raw,cache=writeback",
        ] + nics + [
            "-virtfs", f"local,path={self.share},mount_tag=hjobs,"
                       f"security_model=none,id=hjobs",
        ]

    def start(self, kernel, rootfs, smp, die_with_parent, links):
        os.makedirs(self.share, exist_ok=True)
        shutil.rmtree(os.path.join(self.share, "jobs"), ignore_errors=True)
        for f in ("ready",):
            try:
                os.unlink(os.path.join(self.share, f))
            except FileNotFoundError:
                pass
        # Keep the previous boot's console log for post-mortems.
        if os.path.exists(self.console_log):
            os.replace(self.console_log, self.console_log + ".old")
        with open(os.path.join(self.dir, "swap.img"), "wb") as f:
            f.truncate(SWAP_DISK_BYTES)
        argv = self.qemu_argv(kernel, rootfs, smp, links)
        with open(os.path.join(self.dir, "qemu.cmd"), "w") as f:
            f.write(" ".join(argv) + "\n")
        log = open(os.path.join(self.dir, "qemu.log"), "w")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True,
            preexec_fn=_die_with_parent if die_with_parent else None)
        log.close()
        self.pid = self.proc.pid

    def kill(self):
        """Stop QEMU: quit through the monitor, then SIGTERM, then SIGKILL."""
        if not self.alive():
            self._reap()
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(self.monitor_sock)
                s.sendall(b"quit\n")
        except OSError:
            pass
        for sig, wait in ((None, 5), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            if sig is not None and self.alive():
                try:
                    os.kill(self.pid, sig)
                except ProcessLookupError:
                    break
            deadline = time.time() + wait
            while self.alive() and time.time() < deadline:
                time.sleep(0.1)
            if not self.alive():
                break
        self._reap()

    def _reap(self):
        if self.proc is not None:
            try:
                self.proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.unlink(os.path.join(self.dir, "swap.img"))
        except FileNotFoundError:
            pass

    def ready(self):
        return os.path.exists(os.path.join(self.share, "ready"))

    def run(self, script, args=(), timeout=600, out=None, err=None,
            background=False):
        """Run the file 'script' on the node as root.

        Streams the job's stdout/stderr to the file objects out/err as it
        runs (when given). Returns (rc, stdout, stderr); rc is None when the
        node did not answer in time or died (the node is then hung).
        With background=True, returns a Job to wait() on later.
        """
        job = Job(self, script, args, timeout)
        if background:
            return job
        return job.wait(out, err)


class Job:
    seq = 0

    def __init__(self, node, script, args, timeout):
        Job.seq += 1
        self.node = node
        self.timeout = timeout
        self.script = os.path.basename(script)
        self.args = [str(a) for a in args]
        self.id = f"{int(time.time() * 1000)}-{os.getpid()}-{Job.seq}"
        self.dir = os.path.join(node.share, "jobs", self.id)
        os.makedirs(self.dir)
        shutil.copyfile(script, os.path.join(self.dir, "script"))
        with open(os.path.join(self.dir, "args"), "w") as f:
            for a in args:
                if "\n" in str(a):
                    raise ClusterError("job arguments cannot hold newlines")
                f.write(f"{a}\n")
        with open(os.path.join(self.dir, "timeout"), "w") as f:
            f.write(f"{int(timeout)}\n")
        with open(os.path.join(self.dir, "go.tmp"), "w"):
            pass
        os.rename(os.path.join(self.dir, "go.tmp"), os.path.join(self.dir, "go"))
        self.started = time.time()
        self.result = None

    def _read(self, name, offset):
        try:
            with open(os.path.join(self.dir, name), "rb") as f:
                f.seek(offset)
                return f.read()
        except FileNotFoundError:
            return b""

    def done(self):
        return self.result is not None or os.path.exists(os.path.join(self.dir, "rc"))

    def wait(self, out=None, err=None):
        if self.result is not None:
            return self.result
        pos = {"stdout": 0, "stderr": 0}
        bufs = {"stdout": b"", "stderr": b""}
        sinks = {"stdout": out, "stderr": err}
        deadline = self.started + self.timeout + HUNG_GRACE
        rc = None
        while True:
            finished = self.done()
            for name in pos:
                data = self._read(name, pos[name])
                if data:
                    pos[name] += len(data)
                    bufs[name] += data
                    if sinks[name] is not None:
                        sinks[name].write(data.decode(errors="replace"))
                        sinks[name].flush()
            if finished:
                with open(os.path.join(self.dir, "rc")) as f:
                    rc = int(f.read().strip() or 255)
                break
            if not self.node.alive() or time.time() > deadline:
                break
            time.sleep(0.1)
        ret = (rc, bufs["stdout"].decode(errors="replace"),
               bufs["stderr"].decode(errors="replace"))
        if rc is not None:
            # The node's agent looks at every job directory left in the
            # share ten times a second, over 9p: a finished job's goes.
            self.result = ret
            shutil.rmtree(self.dir, ignore_errors=True)
        if TRACE:
            args = " ".join(self.args)
            print(f"# job {self.node.name}: {self.script} {args}: "
                  f"{time.time() - self.started:.1f} s, exit {rc}",
                  file=sys.stderr, flush=True)
        return ret


class Cluster:
    def __init__(self, state_dir):
        self.dir = os.path.abspath(state_dir)
        self.state_file = os.path.join(self.dir, "cluster.json")
        self.nodes = {}
        self.hub = None
        self.kernel = self.rootfs = self.krel = None
        self.smp = 2
        self.die_with_parent = False

    @classmethod
    def load(cls, state_dir):
        c = cls(state_dir)
        try:
            with open(c.state_file) as f:
                st = json.load(f)
        except FileNotFoundError:
            raise ClusterError(f"no cluster in {c.dir}; start one with "
                               "'./build_kernel.sh vm up'")
        c.kernel, c.rootfs, c.krel = st["kernel"], st["rootfs"], st["krel"]
        c.smp = st.get("smp", 2)
        for n in st["nodes"]:
            c.nodes[n["name"]] = Node(c, n["name"], n)
        c.wire(st.get("hub") or st["nodes"][-1]["name"])
        return c

    def save(self):
        st = {"kernel": self.kernel, "rootfs": self.rootfs, "krel": self.krel,
              "smp": self.smp, "hub": self.hub.name,
              "nodes": [n.state() for n in self.nodes.values()]}
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f, indent=1)
        os.replace(tmp, self.state_file)

    def wire(self, hub):
        """Link every node to the hub, the K-th on 10.77.K.0/24.

        A link is one unix stream socket carrying the Ethernet frames:
        lossless (UDP drops frames, which soft-RoCE under TCG does not
        survive), without Nagle's delays (TCP adds 40 ms to a round trip),
        and reachable from this machine only. The hub listens, the other
        end connects: that node can be restarted, the hub accepts it again.
        EXTRA_LINKS come after the hub's, numbered on; the node that
        listens keeps its hub link first (eth0).
        """
        self.hub = self.nodes[hub]
        for n in self.nodes.values():
            n.links = []
        extra = [(a, b) for a, b in EXTRA_LINKS
                 if a in self.nodes and b in self.nodes and self.hub.name not in (a, b)]
        others = [n for n in self.nodes.values()
                  if n is not self.hub and n.name not in OFF_HUB]
        pairs = [(self.hub, n) for n in others]
        pairs += [(self.nodes[a], self.nodes[b]) for a, b in extra]
        for k, (a, b) in enumerate(pairs):
            sock = os.path.join(self.dir, f"link{k}.sock")
            # A memory node's end is .2, whichever listens.
            high = a is self.hub or a.name.startswith("mem")
            a.links.append(Link(k, sock, True, high))
            b.links.append(Link(k, sock, False, not high,
                                optional=a.name in SPARE_NODES))

    def node(self, name):
        if name not in self.nodes:
            raise ClusterError(f"no node '{name}' (nodes: "
                               f"{', '.join(self.nodes) or 'none'})")
        return self.nodes[name]

    def ip_of(self, name, seen_from):
        """The address of node name on its link with node seen_from, None
        when the two share no link."""
        a, b = self.node(name), self.node(seen_from)
        if a is b:
            return a.ip
        ks = {link.k for link in b.links}
        return next((link.ip for link in a.links if link.k in ks), None)

    def running(self):
        return any(n.alive() for n in self.nodes.values())

    def up(self, kernel, rootfs, krel, names=DEFAULT_NODES, spare=SPARE_NODES,
           cmdline=None, mem=None, smp=2, boot_timeout=BOOT_TIMEOUT,
           die_with_parent=False, log=sys.stderr):
        """Boot the nodes in names (the last is the hub) and wait until
        every agent answers; the spare nodes are wired, not booted."""
        if len(names) < 2:
            raise ClusterError("the cluster needs at least two nodes")
        if len(set(names) | set(spare)) != len(names) + len(spare):
            raise ClusterError("node names must be unique")
        for f, what in ((kernel, "kernel image"), (rootfs, "root file system")):
            if not f or not os.path.isfile(f):
                raise ClusterError(f"{what} {f!r} does not exist")
        if os.path.exists(self.state_file):
            try:
                old = Cluster.load(self.dir)
                if old.running():
                    raise ClusterError(f"a cluster is already running in "
                                       f"{self.dir}; 'vm down' first")
            except (ValueError, KeyError):
                pass
        os.makedirs(self.dir, exist_ok=True)
        self.kernel, self.rootfs, self.krel = kernel, rootfs, krel
        self.nodes = {}
        for name in list(names) + list(spare):
            n = Node(self, name)
            n.cmdline = (cmdline or {}).get(name, "")
            n.mem_mb = (mem or {}).get(name, DEFAULT_MEM_MB.get(name, 1024))
            self.nodes[name] = n
        self.wire(names[-1])
        self.smp, self.die_with_parent = smp, die_with_parent
        for link in self.hub.links:
            if os.path.exists(link.sock):
                os.unlink(link.sock)
        self.start_node(self.hub)
        deadline = time.time() + 20
        while (not all(_listening(link.sock) for link in self.hub.links)
               and self.hub.alive() and time.time() < deadline):
            time.sleep(0.05)
        for name in names[:-1]:
            self.start_node(self.nodes[name])
        self.save()
        print(f"cluster: booting {', '.join(names)} in {self.dir}", file=log)
        self.wait_ready(names, boot_timeout, log)
        self.write_env()
        return self

    def start_node(self, n):
        for link in n.links:
            if link.listen and os.path.exists(link.sock):
                os.unlink(link.sock)
        n.start(n.kernel or self.kernel, self.rootfs, self.smp,
                self.die_with_parent, self._up_links(n))

    def _up_links(self, n):
        """The links n boots with: an optional one only while the node
        that listens on it runs."""
        return [link for link in n.links
                if link.listen or not link.optional
                or self._listener_of(link).alive()]

    def wait_ready(self, names, timeout=BOOT_TIMEOUT, log=sys.stderr,
                   down_all=True):
        """Wait for the agents of names; on a failure stop the cluster, or
        with down_all=False only the nodes in names."""
        def give_up(msg):
            if down_all:
                self.down()
            else:
                for name in names:
                    self.nodes[name].kill()
                self.save()
            raise ClusterError(msg)

        deadline = time.time() + timeout
        pending = set(names)
        retried = set()
        while pending:
            for name in sorted(pending):
                n = self.nodes[name]
                if n.ready():
                    pending.discard(name)
                    print(f"cluster: {name} ({n.ip}) is up", file=log)
                elif not n.alive() and n is not self.hub and name not in retried:
                    # Under TCG a CPU now and then runs code another one
                    # is patching (an "Oops: int3" at boot); a kernel that
                    # cannot boot fails the second time too. The failed
                    # boot's console stays in console.log.old.
                    retried.add(name)
                    oops = [x for x in tail(n.console_log, 200).splitlines()
                            if "Oops" in x or "panic" in x]
                    print(f"cluster: {name} exited during boot "
                          f"({oops[0].strip() if oops else 'no oops in its console'}); "
                          "booting it once more", file=log)
                    n.kill()
                    self.start_node(n)
                    self.save()
                    deadline = max(deadline, time.time() + timeout / 2)
                elif not n.alive():
                    give_up(f"node {name} exited during boot; "
                            f"qemu.log:\n{tail(os.path.join(n.dir, 'qemu.log'))}"
                            f"console ({n.console_log}):\n{tail(n.console_log)}")
            if pending and time.time() > deadline:
                n = self.nodes[sorted(pending)[0]]
                give_up(f"node {n.name} did not come up in {timeout} s; "
                        f"killed. console ({n.console_log}):\n{tail(n.console_log)}")
            time.sleep(0.2)

    def _not_hub(self, name, what):
        n = self.node(name)
        if n is self.hub:
            raise ClusterError(f"{name} holds the links' listening ends; "
                               f"{what} the whole cluster instead")
        return n

    def restart(self, name, cmdline=None, log=sys.stderr):
        """Reboot one node but the hub, optionally with a new command line."""
        n = self._not_hub(name, "restart")
        n.kill()
        if cmdline is not None:
            n.cmdline = cmdline
        self.start_node(n)
        self.save()
        self.wait_ready([name], log=log)
        self.write_env()

    def start(self, name, log=sys.stderr, kernel=None, cmdline=None):
        """Boot a node that is not running (a spare one), with the kernel
        image kernel instead of the cluster's when given (until it is
        started again) and a new command line when given; if it does not
        come up, it alone is stopped."""
        n = self._not_hub(name, "start")
        if n.alive():
            raise ClusterError(f"node {name} is already running")
        self._wait_listeners(n)
        if kernel is not None and not os.path.isfile(kernel):
            raise ClusterError(f"kernel image {kernel!r} does not exist")
        n.kernel = kernel
        if cmdline is not None:
            n.cmdline = cmdline
        self.start_node(n)
        self.save()
        self.wait_ready([name], log=log, down_all=False)
        self.write_env()

    def _listener_of(self, link):
        return next(m for m in self.nodes.values()
                    if any(x.listen and x.k == link.k for x in m.links))

    def _wait_listeners(self, n):
        """Wait until the other end of each link n connects to listens."""
        for link in self._up_links(n):
            if link.listen:
                continue
            m = self._listener_of(link)
            if not m.alive():
                raise ClusterError(f"{m.name}, which {n.name} connects to, "
                                   "is not running")
            deadline = time.time() + 20
            while not _listening(link.sock) and time.time() < deadline:
                time.sleep(0.05)

    def reboot(self, name, log=sys.stderr):
        """Power a node off and boot it again (not the hub); only it is
        stopped if it does not come up."""
        n = self._not_hub(name, "reboot")
        n.kill()
        self._wait_listeners(n)
        self.start_node(n)
        self.save()
        self.wait_ready([name], log=log, down_all=False)
        self.write_env()

    def stop(self, name):
        """Stop one node but the hub (its console log stays)."""
        self._not_hub(name, "stop").kill()
        self.save()

    def write_env(self):
        """cluster.env in every share: node names, and the addresses of
        the nodes this one has a link with, for scripts."""
        for n in self.nodes.values():
            if not os.path.isdir(n.share):
                continue
            lines = [f"HERMIT_NODES='{' '.join(self.nodes)}'"]
            for other in self.nodes.values():
                ip = self.ip_of(other.name, n.name)
                if ip:
                    lines.append(f"HERMIT_IP_{other.name.upper()}={ip}")
            lines += [f"HERMIT_NODE={n.name}", f"HERMIT_IP={n.ip}"]
            with open(os.path.join(n.share, "cluster.env"), "w") as f:
                f.write("\n".join(lines) + "\n")

    def share(self, src, name):
        """Copy the directory src to /run/hermit/NAME on every node, spare
        ones included."""
        for n in self.nodes.values():
            dst = os.path.join(n.share, name)
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst)

    def down(self):
        for n in self.nodes.values():
            n.kill()
        # A cluster that never got wired (say, HERMIT_KERNEL unset) has no
        # state to keep.
        if self.hub is not None and os.path.exists(self.dir):
            self.save()

    def status(self):
        out = []
        for n in self.nodes.values():
            state = "running" if n.alive() else "stopped"
            ips = ",".join(link.ip for link in n.links)
            out.append(f"{n.name:10} {ips:23} {state:8} pid {n.pid} "
                       f"console {n.console_log}")
        return "\n".join(out)


def build_selftests(src, out):
    """Copy the selftests directory src to out and build its programs;
    tools/hermit/syscaller.py goes with them."""
    shutil.copytree(src, out)
    shutil.copy(os.path.join(src, "..", "..", "..", "hermit", "syscaller.py"), out)
    uapi = os.path.join(src, "..", "..", "..", "..", "include", "uapi")
    for prog, libs in (("swap_workload", []), ("fault_bench", []),
                       ("zswap_stale", []), ("sort_bench", []),
                       ("mc_load", ["-lm"]), ("faas_bench", []),
                       ("hermit_syscalls", ["-I", uapi]),
                       ("rdma_rogue", ["-lrdmacm", "-libverbs"])):
        r = subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror",
                            "-pthread", "-o", os.path.join(out, prog),
                            os.path.join(src, prog + ".c")] + libs,
                           capture_output=True, text=True)
        if r.returncode:
            raise ClusterError(f"cannot build {prog}:\n{r.stderr}")
    return out


SELFTESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "..", "..", "testing", "selftests", "hermit")
BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench")


def boot_test_cluster(state_dir, tmp, log=sys.stderr):
    """The standard cluster booted from the HERMIT_* environment: compute
    and memory (with a 512 MiB ramdisk for the NVMe-oF baseline) running,
    compute2 spare, the built selftests in /run/hermit/selftests on every
    node. QEMU dies with the calling process."""
    sel = build_selftests(SELFTESTS, os.path.join(tmp, "selftests"))
    for attempt in (1, 2):
        c = Cluster(state_dir)
        try:
            c.up(_env("HERMIT_KERNEL"), _env("HERMIT_ROOTFS"), _env("HERMIT_KREL"),
                 cmdline={"memory": "brd.rd_size=524288 brd.rd_nr=1"},
                 die_with_parent=True, log=log)
            break
        except ClusterError as e:
            # TCG now and then trips over the kernel patching its own code
            # (an int3 oops early in boot); one more boot, then give up.
            c.down()
            if attempt == 2:
                raise
            print(f"cluster: boot failed ({str(e).splitlines()[0]}); booting again",
                  file=log, flush=True)
    c.share(sel, "selftests")
    return c


def _env(name):
    v = os.environ.get(name)
    if not v:
        raise ClusterError(f"{name} is not set (run through build_kernel.sh)")
    return v


def main(argv=None):
    ap = argparse.ArgumentParser(prog="build_kernel.sh vm",
                                 description="Hermit QEMU test cluster")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("up", help="boot the cluster")
    p.add_argument("--cmdline", action="append", default=[],
                   metavar="NODE=ARGS", help="extra kernel command line")
    p.add_argument("--mem", action="append", default=[],
                   metavar="NODE=MB", help="memory of a node in MiB")
    p.add_argument("--smp", type=int, default=2)
    sub.add_parser("down", help="stop the cluster")
    p = sub.add_parser("start", help="boot a node that is not running "
                                     "(a spare: " + ", ".join(SPARE_NODES) + ")")
    p.add_argument("node")
    p = sub.add_parser("stop", help="stop one node (not the hub)")
    p.add_argument("node")
    sub.add_parser("status", help="show the nodes")
    p = sub.add_parser("shell", help="serial console of a node")
    p.add_argument("node")
    p = sub.add_parser("run", help="run a script on a node as root")
    p.add_argument("--timeout", type=int, default=600)
    p.add_argument("node")
    p.add_argument("script")
    p.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    state_dir = os.environ.get("HERMIT_VM_DIR", "build/vm")

    try:
        if a.cmd == "up":
            def pairs(items, conv):
                d = {}
                for it in items:
                    k, sep, v = it.partition("=")
                    if not sep:
                        raise ClusterError(f"expected NODE=VALUE, got {it!r}")
                    d[k] = conv(v)
                return d
            c = Cluster(state_dir)
            c.up(_env("HERMIT_KERNEL"), _env("HERMIT_ROOTFS"),
                 _env("HERMIT_KREL"), cmdline=pairs(a.cmdline, str),
                 mem=pairs(a.mem, int), smp=a.smp)
            print(c.status())
            return 0
        c = Cluster.load(state_dir)
        if a.cmd == "down":
            c.down()
            print(f"cluster: stopped; console logs kept in {c.dir}")
            return 0
        if a.cmd == "status":
            print(c.status())
            return 0 if c.running() else 1
        if a.cmd == "start":
            c.start(a.node)
            print(c.status())
            return 0
        if a.cmd == "stop":
            c.stop(a.node)
            print(c.status())
            return 0
        n = c.node(a.node)
        if not n.alive():
            raise ClusterError(f"node {n.name} is not running")
        if a.cmd == "shell":
            if not sys.stdin.isatty():
                raise ClusterError("vm shell needs a terminal; "
                                   "use 'vm run' from scripts")
            print(f"{n.name}: serial console; Ctrl-] leaves", file=sys.stderr)
            return subprocess.call(
                ["socat", "-,raw,echo=0,escape=0x1d",
                 f"UNIX-CONNECT:{n.console_sock}"])
        if a.cmd == "run":
            if not os.path.isfile(a.script):
                raise ClusterError(f"no such script: {a.script}")
            rc, _, _ = n.run(a.script, a.args, a.timeout,
                             out=sys.stdout, err=sys.stderr)
            if rc is None:
                raise ClusterError(f"node {n.name} did not finish the job "
                                   f"in {a.timeout} s (hung or dead); "
                                   f"console: {n.console_log}")
            return rc
    except ClusterError as e:
        print(f"cluster: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())


def run_bench(body, state_dir=None):
    """Boot the test cluster for a benchmark, call body(cluster) and return
    its exit code; the cluster is stopped and its files removed whatever
    happens. A cluster that does not start is a clear error, exit 1. The
    benchmarks' directory is in /run/hermit/bench on every node."""
    tmp = tempfile.mkdtemp(prefix="hermit-bench-")
    c = None
    try:
        c = boot_test_cluster(state_dir or os.environ.get("HERMIT_VM_DIR", "build/vm-bench"),
                              tmp)
        c.share(BENCH, "bench")
        return body(c)
    except ClusterError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        return 1
    finally:
        if c is not None:
            c.down()
        shutil.rmtree(tmp, ignore_errors=True)

