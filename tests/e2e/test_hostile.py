# SPDX-License-Identifier: GPL-2.0-only
"""Targets that work against the tracer: a FIFO bind-mounted over the files
they map (an open of it would block contrace for as long as they like), an
absolute symlink in their root that points at a host file of their choosing,
a main thread that has exited. contrace finishes in seconds, reads and
probes only the files the target really maps, and says what it could not
probe and why."""
import ctypes
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import (CONTRACE, WORKLOADS, Attached, Phased, interpreters,
                      threads_by_tid, validate, within)
from test_gil import has_gil_symbols

LOCKS = os.path.join(WORKLOADS, "locks")
PHASED = os.path.join(WORKLOADS, "phased")
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                       ctypes.c_void_p]
CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE, MNT_DETACH, SYS_PIVOT_ROOT = (
    0x20000, 4096, 16384, 1 << 18, 2, 155)
# Without these, /proc/PID/map_files cannot be followed: what the FIFO's
# place held cannot be reached at all.
NO_MAP_FILES = ["setpriv", "--bounding-set=-sys_admin,-checkpoint_restore"]


def check(ret, what):
    if ret:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), what)


def mount(src, dst, fstype=None, flags=0):
    check(LIBC.mount(src and src.encode(), dst.encode(), fstype and fstype.encode(), flags, None),
          dst)


def own_mount_ns(root=None):
    """A preexec_fn: a private mount namespace; with root, pivoted into it
    (a container: the host's file system is not in it at all)."""
    def setup():
        check(LIBC.unshare(CLONE_NEWNS), "unshare")
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        if root:
            mount(root, root, None, MS_BIND | MS_REC)
            os.chdir(root)
            check(LIBC.syscall(SYS_PIVOT_ROOT, b".", b".old"), "pivot_root")
            check(LIBC.umount2(b"/.old", MNT_DETACH), "umount")
            os.chdir("/")
    return setup


def in_mount_ns_of(pid, fn):
    """Run fn() in a child process that entered pid's mount namespace (and root)."""
    child = os.fork()
    if child == 0:
        code = 1
        try:
            fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
            check(LIBC.setns(fd, CLONE_NEWNS), "setns")
            fn()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "could not change the target's mounts"


def start(argv, min_threads, root=None):
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=own_mount_ns(root))
    deadline = time.monotonic() + 10
    while len(os.listdir(f"/proc/{p.pid}/task")) < min_threads:
        assert time.monotonic() < deadline and p.poll() is None, p.stderr.read()
        time.sleep(0.01)
    return p


def stop(p):
    p.kill()
    p.communicate(timeout=30)


def mapped_path(pid, test):
    """The path of the first file mapping of pid whose path passes test."""
    for line in open(f"/proc/{pid}/maps"):
        f = line.split(maxsplit=5)
        if len(f) == 6 and f[5].startswith("/") and test(f[5].strip()):
            return f[5].strip()
    raise AssertionError(f"no such mapping in {pid}")


def libc_of(pid):
    return mapped_path(pid, lambda p: os.path.basename(p).startswith("libc.so"))


def fifo_over(pid, paths, tmp_path):
    """Bind a FIFO over each path, in pid's mount namespace only."""
    fifo = str(tmp_path / "fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    in_mount_ns_of(pid, lambda: [mount(fifo, p, None, MS_BIND) for p in paths])
    for p in paths:
        # The target's view: a FIFO where its file was; the host's: unchanged.
        assert os.path.stat.S_ISFIFO(os.stat(f"/proc/{pid}/root{p}").st_mode)
        assert not os.path.stat.S_ISFIFO(os.stat(p).st_mode)


def trace(pid, tmp_path, *args, prefix=()):
    """contrace -p PID for 2 s: (returncode, report, stderr, seconds taken)."""
    out = tmp_path / "report.json"
    t0 = time.monotonic()
    p = subprocess.run([*prefix, CONTRACE, "-q", "--json", str(out), "-p", str(pid), "-d", "2",
                        *args], capture_output=True, text=True, timeout=60)
    took = time.monotonic() - t0
    report = validate(json.loads(out.read_text())) if p.returncode == 0 else None
    return p.returncode, report, p.stderr, took


def queue_lock(report):
    (proc,) = report["processes"]
    (l,) = [l for l in proc["locks"] if l["name"] == "locks:queue_lock"]
    return l


def test_fifo_over_the_c_library_holds(tmp_path):
    """--holds on a target that bind-mounted a FIFO over its libc: the
    report in seconds, exact holds from the C library it maps (through
    /proc/PID/map_files), and a warning naming the FIFO. Before: blocked in
    open() for good, deaf to SIGTERM."""
    wl = start([LOCKS, "mutex", "3", "20000", "1000"], 4)
    try:
        libc = libc_of(wl.pid)
        fifo_over(wl.pid, [libc], tmp_path)
        rc, report, err, took = trace(wl.pid, tmp_path, "--holds")
        assert rc == 0 and took < 15, (rc, took, err)
        assert f"the path {libc} of pid {wl.pid} leads to a FIFO" in err
        assert report["trace"]["holds_probed"] == 1 and report["drops"]["holds_unprobed"] == 0
        assert queue_lock(report)["exact_holds"]["count"] > 100
    finally:
        stop(wl)


def test_fifo_over_the_c_library_without_map_files(tmp_path):
    """Without the capability to follow map_files, the mapped C library
    cannot be reached: no exact holds, said with both reasons, and the
    report in seconds all the same."""
    wl = start([LOCKS, "mutex", "3", "20000", "1000"], 4)
    try:
        libc = libc_of(wl.pid)
        fifo_over(wl.pid, [libc], tmp_path)
        rc, report, err, took = trace(wl.pid, tmp_path, "--holds", prefix=NO_MAP_FILES)
        assert rc == 0 and took < 15, (rc, took, err)
        assert (f"--holds: cannot open {libc} of pid {wl.pid}: its path leads to a FIFO, and "
                f"/proc/{wl.pid}/map_files: Operation not permitted: no exact holds") in err
        assert report["trace"]["holds_probed"] == 0 and report["drops"]["holds_unprobed"] == 1
        # The rest of the report is there: the lock, named from the binary's own path.
        assert queue_lock(report)["waits"] > 0
    finally:
        stop(wl)


SPIN = ("import threading, time\n"
        "def spin():\n"
        "    while True:\n"
        "        sum(i * i for i in range(1000))\n"
        "for _ in range(2):\n"
        "    threading.Thread(target=spin, daemon=True).start()\n"
        "time.sleep(60)\n")


def pythons():
    """A pyenv interpreter with symbols (tier A) and a stripped one (tier B)."""
    found = {}
    for label, python in interpreters():
        tier = "uprobes" if has_gil_symbols(python) else "libc"
        found.setdefault(tier, (label, python))
    return [(tier, python) for tier, (label, python) in sorted(found.items())]


@pytest.mark.parametrize("tier,python", pythons(), ids=[t for t, _ in pythons()])
def test_fifo_over_the_interpreter_gil(tier, python, tmp_path):
    """The GIL of a Python process that bind-mounted FIFOs over its
    interpreter and its C library: found and probed through map_files, in
    seconds; without map_files, the reason is in the report."""
    wl = start([python, "-c", SPIN], 3)
    try:
        exe = mapped_path(wl.pid, lambda p: os.path.basename(p).startswith("python3."))
        try:  # the interpreter is libpython where there is one
            interp = mapped_path(wl.pid, lambda p: os.path.basename(p).startswith("libpython3."))
            files = [exe, interp]
        except AssertionError:
            interp, files = exe, [exe]
        fifo_over(wl.pid, files + [libc_of(wl.pid)], tmp_path)
        # The uprobe tiers: their probes too go through the files.
        rc, report, err, took = trace(wl.pid, tmp_path, "--gil=uprobe")
        assert rc == 0 and took < 15, (rc, took, err)
        gil = report["processes"][0]["gil"]
        assert gil["tier"] == tier and gil["why"] == "", gil
        assert f"GIL: the path {interp} of pid {wl.pid} leads to a FIFO" in err
        assert gil["hold_ns"] > 0.5e9
        rc, report, err, took = trace(wl.pid, tmp_path, "--gil=uprobe", prefix=NO_MAP_FILES)
        assert rc == 0 and took < 15, (rc, took, err)
        gil = report["processes"][0]["gil"]
        assert gil["tier"] == "none", gil
        assert (f"cannot open {interp} of pid {wl.pid}: its path leads to a FIFO, and "
                f"/proc/{wl.pid}/map_files: Operation not permitted") in gil["why"]
    finally:
        stop(wl)


def jail(tmp_path):
    """A root holding the locks workload (/app/locks), the libraries it
    needs (/usr/lib/x86_64-linux-gnu) and its loader; .old for pivot_root."""
    root = tmp_path / "jail"
    libdir = root / "usr/lib/x86_64-linux-gnu"
    libdir.mkdir(parents=True)
    (root / "lib64").mkdir()
    for line in subprocess.run(["ldd", LOCKS], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        path = [w for w in line.split() if w.startswith("/")]
        if not path:
            continue  # the vDSO
        shutil.copy(os.path.realpath(path[0]), libdir / os.path.basename(path[0]))
        if path[0].startswith("/lib64/"):
            shutil.copy(os.path.realpath(path[0]), root / path[0].lstrip("/"))
    (root / "app").mkdir()
    shutil.copy(LOCKS, root / "app/locks")
    (root / ".old").mkdir()
    return root


def test_symlink_out_of_the_root_to_a_decoy(tmp_path):
    """A container (a pivoted root) replaces its library directory with a
    symlink to a host directory, /.../decoy, holding a libc.so.6 of its
    choosing. contrace resolves the path inside the container's root, where
    the symlink leads nowhere, and probes the C library the process really
    maps, through map_files: exact holds, and the decoy never read (its
    access time would have moved; before, contrace read it and said it had
    no pthread_mutex_lock)."""
    root = jail(tmp_path)
    decoy_dir = tmp_path / "decoy"
    decoy_dir.mkdir()
    decoy = decoy_dir / "libc.so.6"
    shutil.copy("/bin/true", decoy)
    mtime = decoy.stat().st_mtime
    os.utime(decoy, (mtime - 1000, mtime))  # relatime: the next read moves atime
    wl = start(["/app/locks", "mutex", "3", "20000", "1000"], 4, root=str(root))
    try:
        libc = libc_of(wl.pid)
        assert libc == "/usr/lib/x86_64-linux-gnu/libc.so.6"  # as the container sees it

        def plant():
            mount("none", "/usr/lib", "tmpfs")
            os.symlink(str(decoy_dir), "/usr/lib/x86_64-linux-gnu")
        in_mount_ns_of(wl.pid, plant)
        # Followed from the host's root, the path reaches the decoy.
        assert os.path.samefile(f"/proc/{wl.pid}/root{libc}", decoy)
        rc, report, err, took = trace(wl.pid, tmp_path, "--holds")
        assert rc == 0 and took < 15, (rc, took, err)
        assert report["trace"]["holds_probed"] == 1 and report["drops"]["holds_unprobed"] == 0, err
        l = queue_lock(report)
        assert l["exact_holds"]["count"] > 100
        assert l["call_sites"][0]["name"].startswith("locks:mutex_worker+")
        assert decoy.stat().st_atime == mtime - 1000, "contrace read the decoy"
        assert str(decoy_dir) not in err
    finally:
        stop(wl)


class AttachedNoted(Attached):
    """contrace -p in the background, which says something before it starts."""

    def __init__(self, pid, *args, tmp_path):
        self.json_path = str(tmp_path / f"attached-{pid}.json")
        self.proc = subprocess.Popen([CONTRACE, "-p", str(pid), "--json", self.json_path, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.notes = ""
        for line in self.proc.stderr:
            if "tracing pid" in line:
                return
            self.notes += line
        raise RuntimeError(f"contrace did not start: {self.notes}")


def test_main_thread_exited(tmp_path):
    """A process whose main thread called pthread_exit() while its other
    threads work is traced, not refused as a zombie: its live threads'
    figures against /proc, its locks named."""
    wl = Phased([PHASED, "--spin", "1", "--sleep", "1", "--ms", "500", "--leaderless"])
    try:
        state = open(f"/proc/{wl.pid}/stat").read().rsplit(")", 1)[1].split()[0]
        assert state == "Z"  # the main thread is gone; three others live
        before = wl.snapshot()
        ct = AttachedNoted(wl.pid, tmp_path=tmp_path)
        wl.phase()
        after = wl.snapshot()
        report = ct.stop()
    finally:
        wl.stop()
    assert f"the main thread of pid {wl.pid} (phased) has exited" in ct.notes
    threads = threads_by_tid(report, wl.pid)
    assert set(threads) == set(wl.threads)
    for tid, role in wl.threads.items():
        t = threads[tid]
        oncpu = after[tid].oncpu_ns - before[tid].oncpu_ns
        runq = after[tid].runq_ns - before[tid].runq_ns
        vol = after[tid].voluntary - before[tid].voluntary
        assert within(t["oncpu_ns"], oncpu, 0.02, 20000), (role, t["oncpu_ns"], oncpu)
        assert within(t["runq_ns"], runq, 0.02, 20000), (role, t["runq_ns"], runq)
        assert abs(t["voluntary_switches"] - vol) <= 1, (role, t["voluntary_switches"], vol)
    spin = [t for t, r in wl.threads.items() if r == "spin"][0]
    assert threads[spin]["oncpu_ns"] > 50e6  # it ran: the equalities above are not of zeros
    # Its maps are read through a live thread: the locks have their names.
    names = {l["name"] for l in report["processes"][0]["locks"]}
    assert "phased:lock" in names or "phased:go" in names, names
