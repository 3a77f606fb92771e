# SPDX-License-Identifier: GPL-2.0-only
"""Shared helpers for the end-to-end tests: run contrace on real workloads
and read the kernel's own per-thread counters to compare with."""
import glob
import json
import os
import signal
import subprocess
import tempfile
import time

import jsonschema
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTRACE = os.path.abspath(os.environ.get("CONTRACE", os.path.join(ROOT, "build/contrace")))
WORKLOADS = os.path.abspath(os.environ.get("WORKLOADS", os.path.join(ROOT, "build/workloads")))
PYWORKLOADS = os.path.join(ROOT, "tools/workloads")
SCHEMA = json.load(open(os.path.join(ROOT, "docs/report.schema.json")))


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="end-to-end tests need root (BPF)")
        for item in items:
            item.add_marker(skip)


def interpreters():
    """(label, path) of every CPython 3.8+ on this machine: pyenv builds and Debian's."""
    found = []
    for path in sorted(glob.glob("/root/.pyenv/versions/3.*/bin/python3")):
        version = path.split("/")[-3]
        major, minor = (int(x) for x in version.split(".")[:2])
        if (major, minor) >= (3, 8):
            found.append((f"pyenv-{version}", path))
    if os.path.exists("/usr/bin/python3"):
        found.append(("debian", "/usr/bin/python3"))
    return found


def validate(report):
    jsonschema.validate(report, SCHEMA)
    return report


def bpf_prog_ids():
    """Ids of contrace's BPF programs loaded right now (their names start with ct_)."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"] for p in json.loads(out) if p.get("name", "").startswith("ct_")}


# Every process this test session starts inherits this mark: programs held by
# processes without it belong to another session (tests run in parallel by
# another checkout) and are not this session's leftovers.
SESSION_MARK = f"{os.getpid()}-{time.monotonic_ns()}"
os.environ["CONTRACE_TEST_SESSION"] = SESSION_MARK


def prog_holders():
    """{prog id: set of pids holding a file descriptor to it}, from /proc/*/fdinfo."""
    holders = {}
    for fdinfo in glob.glob("/proc/[0-9]*/fdinfo/*"):
        try:
            text = open(fdinfo).read()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("prog_id:"):
                holders.setdefault(int(line.split()[1]), set()).add(int(fdinfo.split("/")[2]))
    return holders


def ours(pid):
    try:
        env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    except OSError:
        return False
    return f"CONTRACE_TEST_SESSION={SESSION_MARK}".encode() in env


def foreign_contrace_running():
    for comm in glob.glob("/proc/[0-9]*/comm"):
        try:
            if open(comm).read().strip() == "contrace" and not ours(comm.split("/")[2]):
                return True
        except OSError:
            pass
    return False


@pytest.fixture(autouse=True)
def no_leftover_bpf():
    """Every test must leave no contrace BPF program loaded."""
    before = bpf_prog_ids()
    yield
    for _ in range(50):
        left = bpf_prog_ids() - before
        if not left:
            return
        time.sleep(0.1)  # programs are freed asynchronously after close
    holders = prog_holders()
    mine = {p for p in left if any(ours(pid) for pid in holders.get(p, ()))}
    orphans = {p for p in left if not holders.get(p)}
    if mine or (orphans and not foreign_contrace_running()):
        pytest.fail(f"BPF programs left loaded after the test: {sorted(mine | orphans)}")


class ProcCounters:
    """A thread's counters as the kernel keeps them."""

    def __init__(self, pid, tid):
        status = open(f"/proc/{pid}/task/{tid}/status").read()
        self.voluntary = int(status.split("\nvoluntary_ctxt_switches:")[1].split()[0])
        self.involuntary = int(status.split("nonvoluntary_ctxt_switches:")[1].split()[0])
        stat = open(f"/proc/{pid}/task/{tid}/schedstat").read().split()
        self.oncpu_ns = int(stat[0])
        self.runq_ns = int(stat[1])


class Phased:
    """A phased workload (tools/workloads/phased.c or pyphased.py): idle until told."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        self.threads = {}
        self.counts = {}
        self.worked = {}  # pyphased.py --work: each thread's own timing of its handlers, ns
        for line in self.proc.stdout:
            f = line.split()
            if f[0] == "thread":
                self.threads[int(f[1])] = f[2]
            elif f[0] == "ready":
                break
        else:
            raise RuntimeError(f"workload {argv} ended before it was ready")
        self.pid = self.proc.pid
        self.wait_asleep()

    def wait_asleep(self, timeout=10):
        """Wait until every thread sleeps (state S), so /proc counters rest."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = []
            for tid in self.threads:
                stat = open(f"/proc/{self.pid}/task/{tid}/stat").read()
                states.append(stat.rsplit(")", 1)[1].split()[0])
            if all(s == "S" for s in states):
                return
            time.sleep(0.002)
        raise RuntimeError(f"workload threads did not go to sleep: {states}")

    def snapshot(self):
        return {tid: ProcCounters(self.pid, tid) for tid in self.threads}

    def phase(self):
        self.proc.send_signal(signal.SIGUSR1)
        line = self.proc.stdout.readline()
        assert line.startswith("done"), line
        self.wait_asleep()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        for line in self.proc.stdout:
            f = line.split()
            if f and f[0] == "count":
                self.counts[int(f[1])] = int(f[3] if len(f) > 3 else f[2])
            elif f and f[0] == "worked":
                self.worked[int(f[1])] = int(f[2])
        self.proc.wait(timeout=30)


class Attached:
    """contrace -p PID running in the background, until stop()."""

    def __init__(self, pid, *args, tmp_path):
        self.json_path = str(tmp_path / f"attached-{pid}.json")
        self.proc = subprocess.Popen([CONTRACE, "-p", str(pid), "--json", self.json_path, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # contrace says so on stderr once its probes are live and the threads
        # found (after warnings: the uprobe tiers' cost).
        self.warnings = []
        line = self.proc.stderr.readline()
        while line.startswith("contrace: warning:"):
            self.warnings.append(line)
            line = self.proc.stderr.readline()
        if "tracing pid" not in line:
            self.proc.kill()
            raise RuntimeError(f"contrace did not start: {line}{self.proc.stderr.read()}")

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        self.stdout = out
        self.stderr = err
        with open(self.json_path) as f:
            return validate(json.load(f))


def run_contrace(*args, timeout=120, check=True, **kw):
    """Run contrace to completion with its JSON report in a file (a launched
    command shares contrace's stdout). Returns (returncode, report, stderr);
    the command's own output is in the last element's .stdout attribute."""
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = subprocess.run([CONTRACE, "-q", "--json", f.name, *args], text=True,
                           timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"contrace exited {p.returncode}: {p.stderr}")
        text = open(f.name).read()
    report = validate(json.loads(text)) if text.strip() else None
    return p.returncode, report, p.stderr


def threads_by_tid(report, pid=None):
    out = {}
    for proc in report["processes"]:
        if pid is None or proc["pid"] == pid:
            for t in proc["threads"]:
                out[t["tid"]] = t
    return out


def syscall(thread_or_proc, name):
    for s in thread_or_proc["syscalls"]:
        if s["name"] == name:
            return s
    return None


def within(value, truth, rel, abs_ns=0):
    return abs(value - truth) <= max(rel * truth, abs_ns)
