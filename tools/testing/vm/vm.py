#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Boot a kernel variant under QEMU (TCG) and drive it from the host.

The guest has ACPI DIMM slots, optionally two NUMA nodes and virtio-mem
devices (`virtio_mem`: one maximum size or a list of them), and a
busybox/bash/util-linux/kmod initramfs whose /init serves commands on the
second serial port (see guest/init). The host side talks QMP
to plug and unplug memory. Every wait has a hard timeout: a hung guest fails
the caller with VMError, it never hangs the run.

As a library:
    with VM("rust", numa=True) as vm:
        print(vm.run("lsmem").out)
        vm.plug_dimm("d1", 256 << 20)

As a command:
    vm.py [--variant rust] [--numa] [--virtio-mem SIZE [--virtio-mem-boot SIZE]]
          [--cold-dimm SIZE[@NODE]...] [--append ARGS] [--shell] [CMD...]
"""

import argparse
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CACHE = os.environ.get("MHP_CACHE", "/var/cache/mhp-rust")
MiB = 1 << 20
GiB = 1 << 30


class VMError(Exception):
    pass


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return f"Result(rc={self.rc}, out={self.out!r}, err={self.err!r})"


def build_dir(variant):
    return os.path.join(CACHE, f"build-{variant}")


def kernel_image(variant):
    return os.path.join(build_dir(variant), "arch/x86/boot/bzImage")


# Guests of one variant may start at the same time (the test runner runs two units at once):
# one initramfs build at a time.
_INITRAMFS_LOCK = threading.Lock()


def initramfs(variant):
    """Build (if out of date) and return the initramfs of a variant."""
    with _INITRAMFS_LOCK:
        return _initramfs(variant)


def _initramfs(variant):
    out = os.path.join(build_dir(variant), "initramfs.cpio.gz")
    modroot = os.path.join(build_dir(variant), "modroot")
    inputs = [os.path.join(HERE, "initramfs.sh"), os.path.join(HERE, "guest", "init"),
              kernel_image(variant)]
    sel = os.path.join(TOP, "tools", "testing", "selftests")
    for d, _, files in os.walk(sel):
        inputs += [os.path.join(d, f) for f in files]
    if not os.path.exists(kernel_image(variant)):
        raise VMError(f"no kernel for variant {variant}: run `make kernel VARIANT={variant}`")
    if os.path.exists(out) and os.path.getmtime(out) >= max(os.path.getmtime(i) for i in inputs):
        return out
    subprocess.run([os.path.join(HERE, "initramfs.sh"), modroot, os.path.join(CACHE, "src"), out],
                   check=True)
    return out


class VM:
    """A QEMU guest running one kernel variant."""

    def __init__(self, variant="rust", mem=1 * GiB, slots=4, maxmem=16 * GiB, numa=False,
                 virtio_mem=None, append="", cpus=2, boot_timeout=120, log=None,
                 cold_dimms=(), virtio_mem_boot=None, icount=False, allowed=(), icount_at=(),
                 gdb=False):
        """`cold_dimms`: [(size, node or None)...] DIMMs present when the guest starts (ACPI
        adds them during boot); `virtio_mem_boot`: the requested-size of each virtio-mem
        device at boot (int: of the first), 0 by default. `icount`: the guest's clocks count
        its instructions (1 ns each) instead of following the host's time, so that what
        the guest measures does not depend on the host's load. `allowed`: substrings of
        kernel log lines that are not splats for this guest (a known upstream WARN a
        test provokes on purpose; the test says why). `icount_at`: kernel functions (with
        `icount`) at whose first call during boot the guest's instruction count is read
        (gdb's breakpoints, QEMU's count): in `icounts` after start(). `gdb`: a gdb stub,
        for stops_at()."""
        self.variant = variant
        self.mem, self.slots, self.maxmem = mem, slots, maxmem
        self.numa, self.virtio_mem, self.append = numa, virtio_mem, append
        self.cold_dimms, self.virtio_mem_boot = list(cold_dimms), virtio_mem_boot
        self.cpus, self.boot_timeout = cpus, boot_timeout
        self.icount = icount
        self.icount_at = tuple(icount_at)
        self.icounts = {}
        self.gdb = gdb
        self.allowed = tuple(allowed)
        self.log = log
        self.proc = None
        self.dir = None
        self.next_id = 0
        self.qmp_sock = None
        self.qmp_buf = b""
        self.events = []

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    # Every KCSAN report of the kcsan variants' guests, appended: `make test-kcsan` sums them.
    KCSAN_LOG = os.path.join(CACHE, "kcsan-reports.txt")

    def __exit__(self, exc_type, *exc):
        splats = self.leaks() + self.splats() if exc_type is None else []
        reports = self.kcsan_reports() if self.proc else []
        if reports:
            with open(self.KCSAN_LOG, "a") as f:
                for header, mine, text in reports:
                    f.write(f"{self.variant} {'ours' if mine else 'upstream'} "
                            f"{re.sub(r'^.*BUG: KCSAN: ', '', header)}\n")
                    f.write("".join(f"    {line}\n" for line in text.splitlines()))
        self.stop()
        if splats:
            raise VMError("the kernel reported problems:\n" + "\n".join(splats))

    # Kernel log lines that mean a bug, whatever the test checked.
    SPLATS = ("WARNING:", "BUG:", "Oops", "kernel BUG", "Kernel panic",
              "possible circular locking", "possible recursive locking",
              "inconsistent lock state", "KASAN:", "UBSAN:", "unreferenced object",
              "sleeping function called from invalid context")

    KMEMLEAK = "/sys/kernel/debug/kmemleak"

    def leaks(self):
        """On a kernel with kmemleak (the debug variant), the objects it reports as leaked at
        the end of the guest's life: scan, wait, scan (an object must be unreferenced in two
        scans to be reported), read. The result is part of the splats."""
        try:
            r = self.run(f"test -e {self.KMEMLEAK} || exit 3; echo scan > {self.KMEMLEAK}; "
                         f"sleep 5; echo scan > {self.KMEMLEAK}; cat {self.KMEMLEAK}",
                         timeout=600)
        except VMError:
            return []  # the guest is gone: its console says why (splats)
        if r.rc == 3:
            return []
        if r.rc != 0:
            return [f"kmemleak scan failed ({r.rc}): {r.err.strip()}"]
        if "unreferenced object" not in r.out:
            return []
        return [f"kmemleak: {line}" for line in r.out.splitlines()][:60]

    def splats(self):
        """Lines of the kernel log so far that report a bug (WARN, BUG, lockdep, KASAN...);
        of KCSAN's data-race reports, those about the code the project changes or calls
        (kcsan_reports())."""
        ours = [header for header, mine, _ in self.kcsan_reports() if mine]
        return [line for line in self.console().splitlines()
                if any(p in line for p in self.SPLATS) and "BUG: KCSAN:" not in line
                and not any(a in line for a in self.allowed)] + ours

    # A stack frame of the code the project changes or calls, in a KCSAN report: the Rust
    # driver and the kernel crate (every Rust symbol), memory.c and its glue, core mm's
    # memory hotplug, node devices, the notifier chain, the drivers that add memory.
    KCSAN_OURS = re.compile(
        r"^\s*(?:\[[\s\d.]+\]\s*)?(?:_R\w+|\w*memory_block\w*|memory_\w+|\w*mem_hotplug\w*|"
        r"\w*memory_hotplug\w*|\w*_memory|\w*_memory_\w+|online_pages\w*|offline_pages\w*|"
        r"\w*zone_for_pfn\w*|auto_movable\w*|\w*memory_group\w*|mhp_\w+|\w*node_dev\w*|"
        r"\w*notifier_call_chain\w*|virtio_mem\w*|acpi_memory\w*|dev_dax_kmem\w*|"
        r"device_online|device_offline|\w*_online_type\w*)\+")

    def kcsan_reports(self):
        """KCSAN's reports in the kernel log: [(its `BUG: KCSAN: ...` line, whether a frame of
        either stack is of the project's code (KCSAN_OURS), the whole report)]. Upstream's
        own data races elsewhere are not this project's to fix: tests count them."""
        out, block = [], None
        for line in self.console().splitlines():
            if "BUG: KCSAN:" in line:
                block = [line]
            elif block is not None:
                block.append(line)
                if "==================" in line:
                    out.append((block[0], any(self.KCSAN_OURS.match(l) for l in block[1:]),
                                "\n".join(block)))
                    block = None
        return out

    def command_line(self):
        # no_timer_check: on a loaded host, the emulated IO-APIC timer check can fail and panic
        # the guest at boot ("IO-APIC + timer doesn't work"); it tests QEMU, not the kernel.
        append = "console=ttyS0 panic=-1 oops=panic loglevel=6 no_timer_check " + self.append
        cmd = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg",
               # One socket per vCPU: with two NUMA nodes, vCPUs of different nodes
               # must not share a cache (the kernel WARNs at boot otherwise).
               "-smp", f"{self.cpus},sockets={self.cpus},cores=1,threads=1", "-nographic", "-no-reboot", "-nodefaults",
               "-m", f"{self.mem // MiB}M,slots={self.slots},maxmem={self.maxmem // MiB}M",
               "-kernel", kernel_image(self.variant), "-initrd", initramfs(self.variant),
               "-append", append.strip(),
               "-chardev", f"file,id=con,path={self.dir}/console.log",
               "-serial", "chardev:con",
               "-chardev", f"socket,id=agent,path={self.dir}/agent.sock,server=on,wait=off",
               "-serial", "chardev:agent",
               "-qmp", f"unix:{self.dir}/qmp.sock,server=on,wait=off"]
        if self.icount:
            # shift=0: one instruction is one ns of guest time; sleep=off: an idle guest's
            # clock jumps to its next timer instead of waiting for the host's.
            cmd += ["-icount", "shift=0,sleep=off"]
        if self.icount_at:
            # Start stopped, for gdb; a second QMP socket for its queries.
            cmd += ["-S", "-qmp", f"unix:{self.dir}/qmp-gdb.sock,server=on,wait=off"]
        if self.icount_at or self.gdb:
            cmd += ["-gdb", f"tcp:127.0.0.1:{self.gdb_port}"]
        if self.numa:
            half = self.mem // 2
            for n in range(2):
                cmd += ["-object", f"memory-backend-ram,id=ram{n},size={half // MiB}M",
                        "-numa", f"node,nodeid={n},memdev=ram{n},cpus={n % self.cpus}"]
        node = ",node=1" if self.numa else ""
        boot = self.virtio_mem_boot
        boot = [boot] if isinstance(boot, int) else list(boot or [])
        for i, size in enumerate(self.virtio_mem_sizes()):
            req = boot[i] if i < len(boot) else 0
            cmd += ["-object", f"memory-backend-ram,id=vmem{i},size={size // MiB}M",
                    "-device", f"virtio-mem-pci,id=vm{i},memdev=vmem{i},"
                               f"requested-size={req // MiB}M{node}"]
        for i, (size, dnode) in enumerate(self.cold_dimms):
            dn = "" if dnode is None else f",node={dnode}"
            cmd += ["-object", f"memory-backend-ram,id=cd{i}-mem,size={size // MiB}M",
                    "-device", f"pc-dimm,id=cd{i},memdev=cd{i}-mem{dn}"]
        return cmd

    def start(self):
        self.dir = tempfile.mkdtemp(prefix=f"mhp-vm-{self.variant}-")
        if self.icount_at or self.gdb:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.gdb_port = s.getsockname()[1]
        cmd = self.command_line()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(f"{self.dir}/qemu.err", "w"))
        try:
            gdb = None
            if self.icount_at:
                self._connect("qmp-gdb.sock").close()
                gdb = self._gdb(self.icount_at, len(self.icount_at),
                                qmp=f"{self.dir}/qmp-gdb.sock")
            self.agent = self._connect("agent.sock")
            self.qmp_sock = self._connect("qmp.sock")
            self._qmp_greeting()
            self._agent_buf = b""
            self._read_until(b"AGENT READY\n", self.boot_timeout)
            if gdb:
                self.icounts = {s[0]: s[1] for s in self._stops(gdb, len(self.icount_at), 60)}
                if set(self.icounts) != set(self.icount_at):
                    raise VMError(f"gdb stopped at {self.icounts}, not {self.icount_at}")
        except Exception:
            self.stop()
            raise

    # gdb's Python: a hardware breakpoint on each function of `addrs`; at each of `stops`
    # stops, the function, QEMU's instruction count (QMP query-replay, if `qmp`), the stack
    # pointer and the second argument (a notifier's action); then detach (the guest runs on).
    GDB_SCRIPT = """
import gdb, json, socket
addrs = %(addrs)r
f = None
if %(qmp)r:
    qmp = socket.socket(socket.AF_UNIX)
    qmp.connect(%(qmp)r)
    f = qmp.makefile("rw")
    f.readline()
    f.write(json.dumps({"execute": "qmp_capabilities"}) + "\\n"); f.flush(); f.readline()
gdb.execute("target remote tcp:127.0.0.1:%(port)d")
for a in addrs.values():
    gdb.execute("hbreak *%%#x" %% a)
print("READY", flush=True)
for _ in range(%(stops)d):
    gdb.execute("continue")
    reg = lambda r: int(gdb.parse_and_eval("(unsigned long)$" + r))
    n = 0
    if f:
        f.write(json.dumps({"execute": "query-replay"}) + "\\n"); f.flush()
        reply = {}
        while "return" not in reply:  # events (STOP, RESUME) come first
            reply = json.loads(f.readline())
        n = reply["return"]["icount"]
    name = [k for k, a in addrs.items() if a == reg("pc")][0]
    print("STOP", name, n, reg("rsp"), reg("rsi"), flush=True)
    if %(dump)d:
        sp = reg("rsp")
        top = (sp | (%(dump)d - 1)) + 1
        print("STACK", gdb.selected_inferior().read_memory(sp, top - sp).tobytes().hex(),
              flush=True)
gdb.execute("delete")
gdb.execute("detach")
"""

    def _gdb(self, functions, stops, qmp=None, dump=0):
        """Start gdb on the guest (see GDB_SCRIPT); its output has a STOP line per stop."""
        syms = {}
        r = subprocess.run(["nm", os.path.join(build_dir(self.variant), "vmlinux")],
                           capture_output=True, text=True, check=True)
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[2] in functions:
                syms[parts[2]] = int(parts[0], 16)
        if set(syms) != set(functions):
            raise VMError(f"vmlinux lacks some of {functions}")
        script = os.path.join(self.dir, f"gdb{self.next_id}.py")
        self.next_id += 1
        with open(script, "w") as f:
            f.write(self.GDB_SCRIPT % {"addrs": syms, "qmp": qmp, "port": self.gdb_port,
                                       "stops": stops, "dump": dump})
        return subprocess.Popen(["gdb", "-nx", "-q", "-batch", "-ex", f"source {script}"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def _stops(self, gdb, want, timeout, out=""):
        """The STOP lines of a gdb run: [(function, icount, rsp, rsi, stack)]; `want` of
        them. `stack`: with stops_at(stack=THREAD_SIZE), the return addresses found on the
        stack from the stack pointer up, as (offset, symbol+off) (a scan: a stale value
        that looks like one shows too), else []."""
        out += gdb.communicate(timeout=timeout)[0]
        stops = []
        for p in (line.split() for line in out.splitlines()):
            if p and p[0] == "STOP":
                stops.append((p[1], int(p[2]), int(p[3]), int(p[4]), []))
            elif p and p[0] == "STACK" and stops:
                stops[-1][4].extend(self._scan(bytes.fromhex(p[1])))
        if len(stops) != want:
            raise VMError(f"gdb stopped {len(stops)} times, not {want}:\n{out[-3000:]}")
        return stops

    def _scan(self, stack):
        """(offset, symbol+off) of the words of `stack` that point into kernel text."""
        if not hasattr(self, "_text"):
            r = subprocess.run(["nm", "-n", os.path.join(build_dir(self.variant), "vmlinux")],
                               capture_output=True, text=True, check=True)
            self._text = [(int(a, 16), n) for a, t, n in
                          (line.split()[:3] for line in r.stdout.splitlines()
                           if len(line.split()) == 3) if t in "tT"]
        import bisect
        addrs = [a for a, _ in self._text]
        out = []
        for off in range(0, len(stack) - 7, 8):
            v = int.from_bytes(stack[off:off + 8], "little")
            i = bisect.bisect_right(addrs, v) - 1
            if i >= 0 and v < 0xffffffff82000000 and v >= 0xffffffff81000000:
                out.append((off, f"{self._text[i][1]}+{v - addrs[i]:#x}"))
        return out

    def stops_at(self, functions, stops, action, timeout=120, stack=0):
        """Run `action()` (guest commands) with gdb's breakpoints on `functions` (a guest
        started with `gdb=True`): [(function, icount, stack pointer, 2nd argument, stack)]
        of the first `stops` calls (see _stops())."""
        gdb = self._gdb(functions, stops, dump=stack)
        try:
            out = ""
            while not out.endswith("READY\n"):  # the breakpoints are set
                line = gdb.stdout.readline()
                if not line:
                    raise VMError(f"gdb did not attach:\n{out[-3000:]}")
                out += line
            action()
            return self._stops(gdb, stops, timeout, out)
        finally:
            if gdb.poll() is None:
                gdb.kill()
                gdb.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.log is not None and self.dir:
            self.log(self.console())
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def console(self):
        """The guest's serial console (kernel log) so far."""
        try:
            with open(f"{self.dir}/console.log", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _connect(self, name):
        path = f"{self.dir}/{name}"
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise VMError(f"qemu exited: {open(self.dir + '/qemu.err').read().strip()}")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                return s
            except OSError:
                time.sleep(0.1)
        raise VMError(f"qemu socket {name} did not appear")

    # -- the guest agent ---------------------------------------------------

    def _read_until(self, marker, timeout):
        deadline = time.time() + timeout
        while marker not in self._agent_buf:
            left = deadline - time.time()
            if left <= 0:
                raise VMError(f"timeout after {timeout}s waiting for {marker!r} from the guest; "
                              f"console tail:\n{self.console()[-3000:]}")
            if self.proc.poll() is not None:
                raise VMError(f"guest died; console tail:\n{self.console()[-3000:]}")
            self.agent.settimeout(min(left, 1.0))
            try:
                data = self.agent.recv(65536)
            except socket.timeout:
                continue
            if not data:
                if self.proc.poll() is None:
                    self.proc.wait(timeout=10)
                raise VMError(f"agent connection closed (qemu exit {self.proc.poll()}); "
                              f"console tail:\n{self.console()[-6000:]}")
            self._agent_buf += data
        head, _, self._agent_buf = self._agent_buf.partition(marker)
        return head

    def run(self, script, timeout=120, check=False):
        """Run a bash script in the guest; return Result(rc, out, err)."""
        self.next_id += 1
        cid = str(self.next_id)
        payload = base64.b64encode(script.encode()).decode()
        self.agent.sendall(f"RUN {cid} {payload}\n".encode())
        self._read_until(f"BEGIN {cid}\n".encode(), timeout)
        body = self._read_until(f"\nEND {cid} ".encode(), timeout)
        rc = int(self._read_until(b"\n", 10))
        out, _, err = body.partition(f"\nSEP {cid}\n".encode())
        res = Result(rc, base64.b64decode(b"".join(out.split())).decode(errors="replace"),
                     base64.b64decode(b"".join(err.split())).decode(errors="replace"))
        if check and res.rc != 0:
            raise VMError(f"guest command failed ({res.rc}): {script}\n{res.out}{res.err}")
        return res

    def sh(self, script, timeout=120):
        """Run a script that must succeed; return its stdout."""
        return self.run(script, timeout=timeout, check=True).out

    # -- QMP ---------------------------------------------------------------

    def _qmp_recv(self, timeout):
        deadline = time.time() + timeout
        while b"\n" not in self.qmp_buf:
            left = deadline - time.time()
            if left <= 0:
                raise VMError("QMP timeout")
            self.qmp_sock.settimeout(left)
            try:
                data = self.qmp_sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise VMError("QMP connection closed")
            self.qmp_buf += data
        line, _, self.qmp_buf = self.qmp_buf.partition(b"\n")
        return json.loads(line)

    def _qmp_greeting(self):
        self._qmp_recv(20)
        self.qmp("qmp_capabilities")

    def qmp(self, command, timeout=30, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.qmp_sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._qmp_recv(timeout)
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise VMError(f"QMP {command}: {reply['error'].get('desc')}")
            return reply.get("return")

    def wait_event(self, name, timeout=60, **data):
        deadline = time.time() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name and all(ev.get("data", {}).get(k) == v
                                               for k, v in data.items()):
                    del self.events[i]
                    return ev
            left = deadline - time.time()
            if left <= 0:
                raise VMError(f"timeout waiting for QMP event {name} {data}")
            self.events.append(self._qmp_recv(left))

    # -- memory devices ------------------------------------------------------

    def plug_dimm(self, dimm_id, size, node=None):
        """Hot-plug a pc-dimm of `size` bytes (ACPI); returns when QEMU has added it."""
        self.qmp("object-add", **{"qom-type": "memory-backend-ram", "id": f"{dimm_id}-mem",
                                  "size": size})
        args = {"driver": "pc-dimm", "id": dimm_id, "memdev": f"{dimm_id}-mem"}
        if node is not None:
            args["node"] = node
        self.qmp("device_add", **args)

    def unplug_dimm(self, dimm_id, timeout=120):
        """Request ACPI eject of a DIMM; wait until the guest released it."""
        self.qmp("device_del", id=dimm_id)
        self.wait_event("DEVICE_DELETED", timeout=timeout, device=dimm_id)
        self.qmp("object-del", id=f"{dimm_id}-mem")

    def virtio_mem_sizes(self):
        """The maximum size of each virtio-mem device (vm0, vm1, ...)."""
        if not self.virtio_mem:
            return []
        return [self.virtio_mem] if isinstance(self.virtio_mem, int) else list(self.virtio_mem)

    def virtio_mem_resize(self, size, timeout=120, dev=0):
        """Set the requested-size of virtio-mem device `dev`; wait until it reached it."""
        path = f"/machine/peripheral/vm{dev}"
        self.qmp("qom-set", path=path, property="requested-size", value=size)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.qmp("qom-get", path=path, property="size") == size:
                return
            time.sleep(0.5)
        raise VMError(f"virtio-mem {dev} did not reach {size} bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--variant", default="rust",
                    help="c, rust, rust-mod, debug, or c-CFG, rust-CFG (configs/CFG.config)")
    ap.add_argument("--mem", type=int, default=1024, help="boot memory in MiB")
    ap.add_argument("--numa", action="store_true", help="two NUMA nodes")
    ap.add_argument("--virtio-mem", type=int, default=0, metavar="MIB",
                    help="add a virtio-mem device of this size")
    ap.add_argument("--virtio-mem-boot", type=int, default=0, metavar="MIB",
                    help="the virtio-mem device's requested size at boot")
    ap.add_argument("--cold-dimm", action="append", default=[], metavar="MIB[@NODE]",
                    help="a DIMM present at boot (repeatable)")
    ap.add_argument("--append", default="", help="extra kernel command line")
    ap.add_argument("--timeout", type=int, default=300, help="per-command timeout (s)")
    ap.add_argument("cmd", nargs="*", help="commands to run in the guest (default: lsmem)")
    a = ap.parse_args()
    cold = [(int(d.split("@")[0]) * MiB, int(d.split("@")[1]) if "@" in d else None)
            for d in a.cold_dimm]
    with VM(a.variant, mem=a.mem * MiB, numa=a.numa,
            virtio_mem=a.virtio_mem * MiB if a.virtio_mem else None,
            virtio_mem_boot=a.virtio_mem_boot * MiB, cold_dimms=cold,
            slots=max(4, len(cold)), append=a.append) as vm:
        rc = 0
        for c in a.cmd or ["lsmem"]:
            r = vm.run(c, timeout=a.timeout)
            sys.stdout.write(r.out)
            sys.stderr.write(r.err)
            rc = rc or r.rc
        return rc


if __name__ == "__main__":
    sys.exit(main())
