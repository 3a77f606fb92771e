# SPDX-License-Identifier: GPL-2.0-only
"""contrace serve: the exposition (promtool), HTTP errors, targets by name,
SIGTERM, and a real Prometheus scraping it, checked against a one-shot
contrace report of the same period."""
import datetime
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from conftest import CONTRACE, WORKLOADS, Attached, Phased

LOCKS = os.path.join(WORKLOADS, "locks")
PHASED = os.path.join(WORKLOADS, "phased")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    """contrace serve in the background, until stop()."""

    def __init__(self, *args, env=None):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [CONTRACE, "serve", "--listen", f"127.0.0.1:{self.port}", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, **(env or {})))
        line = self.proc.stderr.readline()
        if "serving metrics" not in line:
            self.proc.kill()
            raise RuntimeError(f"serve did not start: {line}{self.proc.stderr.read()}")

    def get(self, path):
        """(status, headers, body) of a GET."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def raw(self, data):
        """The status line answered to raw request bytes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
            s.sendall(data)
            return s.makefile("rb").readline().decode().strip()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, err


def samples(text, name):
    """{labels string: value} of the samples of metric `name`."""
    out = {}
    for line in text.splitlines():
        m = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def test_scrape_passes_promtool_and_names_the_lock(tmp_path):
    """A scrape of a contended mutex: promtool accepts it, the lock is named,
    its wait time and the threads' CPU time are there in seconds."""
    wl = subprocess.Popen([LOCKS, "mutex", "3", "100000", "300"], stdout=subprocess.DEVNULL)
    try:
        sv = Serve("-p", str(wl.pid))
        time.sleep(1.5)
        status, headers, body = sv.get("/metrics")
        code, err = sv.stop()
    finally:
        wl.kill()
        wl.wait()
    assert code == 0, err
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    lint = subprocess.run(["promtool", "check", "metrics"], input=body, text=True,
                          capture_output=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    waits = samples(body, "contrace_lock_wait_seconds_total")
    key = f'process="locks",pid="{wl.pid}",lock="locks:queue_lock"'
    assert waits[key] > 0.1, waits
    cpu = samples(body, "contrace_thread_cpu_seconds_total")
    assert sum(cpu.values()) > 0.1
    assert "tid=" not in body and "0x" not in body.replace('+0x', '')
    buckets = samples(body, "contrace_lock_wait_duration_seconds_bucket")
    inf = [v for k, v in buckets.items() if key in k and 'le="+Inf"' in k]
    assert inf and inf[0] == samples(body, "contrace_lock_waits_total")[key]


def test_bad_requests_get_4xx_and_sigterm_exits_cleanly(tmp_path):
    wl = subprocess.Popen([LOCKS, "mutex", "2", "100000", "300"], stdout=subprocess.DEVNULL)
    try:
        sv = Serve("-p", str(wl.pid))
        assert sv.get("/nope")[0] == 404
        assert sv.get("/healthz")[0] == 200
        assert sv.raw(b"POST /metrics HTTP/1.1\r\n\r\n").startswith("HTTP/1.1 405")
        assert sv.raw(b"garbage\r\n\r\n").startswith("HTTP/1.1 400")
        assert sv.raw(b"GET /metrics HTTP/2.0\r\n\r\n").startswith("HTTP/1.1 505")
        assert sv.raw(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n").startswith("HTTP/1.1 431")
        assert sv.raw(b"GET /metrics\0 HTTP/1.1\r\n\r\n").startswith("HTTP/1.1 400")
        # A client that sends half a request and leaves: nothing else is disturbed.
        with socket.create_connection(("127.0.0.1", sv.port)) as s:
            s.sendall(b"GET /met")
        assert sv.get("/metrics")[0] == 200
        code, err = sv.stop()
        # The workload goes on, untraced.
        assert wl.poll() is None
    finally:
        wl.kill()
        wl.wait()
    assert code == 0, err
    assert err == "", err  # after the "serving" line read at start


def test_usage_errors():
    for args, msg in [((), "nothing to trace"), (("--listen", "nowhere", "-p", "1"), "ADDR:PORT"),
                      (("--comm", "x" * 16), "1 to 15 bytes"),
                      (("--max-series", "0", "-p", "1"), "--max-series")]:
        p = subprocess.run([CONTRACE, "serve", *args], capture_output=True, text=True)
        assert p.returncode == 2 and msg in p.stderr, (args, p.stderr)
    p = subprocess.run([CONTRACE, "serve", "--listen", "256.0.0.1:1", "-p", "1"],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "contrace: " in p.stderr and "listen" in p.stderr, p.stderr


def test_comm_picks_up_new_processes_and_drops_exited_ones(tmp_path):
    """--comm: a process of that name started after serve is traced within
    the scan period; once it exits its series go and the exit is counted."""
    name = f"ctl{os.getpid() % 100000}"
    exe = str(tmp_path / name)
    shutil.copy(LOCKS, exe)
    sv = Serve("--comm", name)
    wl = subprocess.Popen([exe, "mutex", "2", "100000", "300"], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            body = sv.get("/metrics")[2]
            if f'pid="{wl.pid}"' in body and samples(body, "contrace_lock_waits_total"):
                break
            time.sleep(0.1)
        assert re.search(r"^contrace_targets 1$", body, re.M), body[-600:]
        assert f'contrace_lock_waits_total{{process="{name}",pid="{wl.pid}"' in body
    finally:
        wl.kill()
        wl.wait()
    for _ in range(50):
        body = sv.get("/metrics")[2]
        if re.search(r"^contrace_targets_exited_total 1$", body, re.M):
            break
        time.sleep(0.1)
    code, err = sv.stop()
    assert code == 0, err
    assert re.search(r"^contrace_targets 0$", body, re.M), body[-600:]
    assert f'pid="{wl.pid}"' not in body


def python_with_symbols():
    found = sorted(glob.glob("/root/.pyenv/versions/3.12*/bin/python3"))
    return found[0] if found else "/usr/bin/python3"


CPU_BOUND = """
import threading
def spin():
    while True:
        sum(i * i for i in range(1000))
for _ in range(2):
    threading.Thread(target=spin, daemon=True).start()
threading.Event().wait()
"""


class Prometheus:
    def __init__(self, tmp_path, target_port):
        self.port = free_port()
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 500ms\n  scrape_timeout: 500ms\n"
                       "scrape_configs:\n  - job_name: contrace\n    static_configs:\n"
                       f"      - targets: ['127.0.0.1:{target_port}']\n")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path}/tsdb",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("prometheus did not start")

    def results(self, q, at):
        url = (f"http://127.0.0.1:{self.port}/api/v1/query?" +
               urllib.parse.urlencode({"query": q, "time": f"{at:.3f}"}))
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.load(r)["data"]["result"]

    def query(self, q, at):
        res = self.results(q, at)
        assert len(res) == 1, (q, res)
        return float(res[0]["value"][1])

    def wait_scraped(self):
        """Until a scrape is stored: Prometheus applies new targets up to 5 s after start."""
        for _ in range(200):
            if self.results("up == 1", time.time()):
                return
            time.sleep(0.1)
        raise RuntimeError("prometheus did not scrape contrace serve")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def window_end(report):
    start = datetime.datetime.fromisoformat(report["trace"]["started_at"].replace("Z", "+00:00"))
    return start.timestamp() + report["trace"]["duration_ns"] / 1e9


@pytest.mark.skipif(not shutil.which("prometheus"), reason="Debian's prometheus package")
def test_prometheus_rates_agree_with_a_one_shot_report(tmp_path):
    """A real Prometheus scrapes serve (every 250 ms) while a contended mutex
    and a CPU-bound Python program run; a one-shot contrace traces both
    meanwhile. Over the one-shot's window, Prometheus's rate of the lock's
    wait seconds and of the GIL's hold seconds (the held ratio) agree with
    the one-shot report within 5%."""
    py = subprocess.Popen([python_with_symbols(), "-c", CPU_BOUND])
    wl = subprocess.Popen([LOCKS, "mutex", "3", "1000000", "300"], stdout=subprocess.DEVNULL)
    sv = prom = None
    try:
        sv = Serve("-p", str(wl.pid), "-p", str(py.pid))
        prom = Prometheus(tmp_path, sv.port)
        prom.wait_scraped()
        # The lock's window holds no other tracer's start or end: its wait
        # rate moves with the load of the CPUs (a suite run read 6.9% apart
        # when the second one-shot attached inside it); the GIL's held ratio
        # of a CPU-bound program does not.
        pg = Attached(py.pid, tmp_path=tmp_path)
        lk = Attached(wl.pid, tmp_path=tmp_path)
        time.sleep(8)
        lock_rep = lk.stop()
        py_rep = pg.stop()
        time.sleep(1)  # a scrape after both windows ended
        lock = next(x for x in lock_rep["processes"][0]["locks"] if x["name"] == "locks:queue_lock")
        end = window_end(lock_rep)
        secs = lock_rep["trace"]["duration_ns"] / 1e9
        rate = prom.query(f'rate(contrace_lock_wait_seconds_total{{pid="{wl.pid}",'
                          f'lock="locks:queue_lock"}}[{int(secs * 1000)}ms])', end)
        truth = lock["wait_ns"] / 1e9 / secs
        assert abs(rate - truth) <= 0.05 * truth, (rate, truth)
        gil = py_rep["processes"][0]["gil"]
        end = window_end(py_rep)
        secs = py_rep["trace"]["duration_ns"] / 1e9
        held = prom.query(f'rate(contrace_gil_hold_seconds_total{{pid="{py.pid}"}}'
                          f'[{int(secs * 1000)}ms])', end)
        assert gil["held_fraction"] > 0.5, gil
        assert abs(held - gil["held_fraction"]) <= 0.05 * gil["held_fraction"], (held, gil)
        # The exposition with a Python process's GIL families too.
        lint = subprocess.run(["promtool", "check", "metrics"], input=sv.get("/metrics")[2],
                              text=True, capture_output=True)
        assert lint.returncode == 0, lint.stdout + lint.stderr
        code, err = sv.stop()
        sv = None
        assert code == 0, err
    finally:
        for p in (py, wl):
            p.kill()
            p.wait()
        if sv:
            sv.stop()
        if prom:
            prom.stop()


CHURN = os.path.join(WORKLOADS, "churn")


def test_thread_churn_replaces_the_session_and_counters_only_grow():
    """A process that keeps creating threads (~70 a second) with 256 thread
    slots: serve replaces its session each time half the slots are taken,
    nothing is dropped, and every counter only grows across replacements;
    the traced time follows the wall clock."""
    wl = subprocess.Popen([CHURN, "4", "50", "0"], stdout=subprocess.DEVNULL)
    try:
        sv = Serve("-p", str(wl.pid), "--max-threads", "256")
        t0 = time.monotonic()
        seen = []
        while time.monotonic() - t0 < 7:
            body = sv.get("/metrics")[2]
            seen.append((time.monotonic() - t0, body))
            time.sleep(0.5)
        code, err = sv.stop()
    finally:
        wl.kill()
        wl.wait()
    assert code == 0, err
    last = seen[-1][1]
    # Drops are serve's session's, for all its processes: labelled by kind only.
    assert samples(last, "contrace_drops_total")['kind="threads_dropped"'] == 0
    assert re.search(r"^contrace_sessions_replaced_total [2-9]", last, re.M), last[-800:]
    for name in ("contrace_traced_seconds_total", "contrace_thread_cpu_seconds_total",
                 "contrace_thread_wakeups_total", "contrace_wakeup_latency_seconds_count"):
        values = [sum(samples(b, name).values()) for _, b in seen]
        assert values == sorted(values), (name, values)
    # Traced since the first scrape's moment, within the replacements' gaps.
    traced = [sum(samples(b, "contrace_traced_seconds_total").values()) for _, b in seen]
    elapsed = seen[-1][0] - seen[0][0]
    assert abs((traced[-1] - traced[0]) - elapsed) <= 0.1 * elapsed, (traced, elapsed)


CGROUP2 = "/sys/fs/cgroup/unified" if os.path.ismount("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"


def test_exe_and_cgroup_select_processes(tmp_path):
    """--exe traces the processes running that file, --cgroup those in the
    cgroup (v2) or below it, however they are named; others are left alone."""
    exe = str(tmp_path / "lockexe")
    shutil.copy(LOCKS, exe)
    cg = f"/ctsv-{os.getpid()}"
    os.makedirs(f"{CGROUP2}{cg}/sub")
    by_exe = by_cg = other = sv = None
    try:
        sv = Serve("--exe", exe, "--cgroup", cg)
        by_exe = subprocess.Popen([exe, "mutex", "2", "100000", "300"], stdout=subprocess.DEVNULL)
        by_cg = subprocess.Popen([LOCKS, "mutex", "2", "100000", "300"], stdout=subprocess.DEVNULL)
        other = subprocess.Popen([LOCKS, "mutex", "2", "100000", "300"], stdout=subprocess.DEVNULL)
        with open(f"{CGROUP2}{cg}/sub/cgroup.procs", "w") as f:
            f.write(str(by_cg.pid))
        for _ in range(100):
            body = sv.get("/metrics")[2]
            if re.search(r"^contrace_targets 2$", body, re.M):
                break
            time.sleep(0.1)
        info = samples(body, "contrace_target_info")
        pids = sorted(int(re.search(r'pid="(\d+)"', k).group(1)) for k in info)
        assert pids == sorted([by_exe.pid, by_cg.pid]), (pids, other.pid)
        code, err = sv.stop()
        sv = None
        assert code == 0, err
    finally:
        for p in (by_exe, by_cg, other):
            if p:
                p.kill()
                p.wait()
        if sv:
            sv.stop()
        os.rmdir(f"{CGROUP2}{cg}/sub")
        os.rmdir(f"{CGROUP2}{cg}")


def sched_switch_progs(pid):
    """Ids of the ct_sched_switch programs process pid holds (its fds' fdinfo), as
    tools/bench/bench.py's prog_ids finds them: one per set of scheduler programs."""
    ids = set()
    for fdinfo in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            ids |= {int(l.split()[1]) for l in open(fdinfo) if l.startswith("prog_id:")}
        except OSError:
            pass
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"] for p in json.loads(out) if p["id"] in ids and
            p.get("name") == "ct_sched_switch"}


def phased_by_name(tmp_path, name):
    """An idle phased workload named `name` (for --comm): a spinner and a ping-pong pair."""
    exe = tmp_path / name
    if not exe.exists():
        shutil.copy(PHASED, exe)
    return Phased([str(exe), "--spin", "1", "--pingpong", "1", "--ms", "150"])


def wait_targets(sv, n, pid=None):
    """Scrapes until serve traces n processes (and pid among them): the last body."""
    for _ in range(300):
        body = sv.get("/metrics")[2]
        if re.search(rf"^contrace_targets {n}$", body, re.M) and (
                pid is None or f'pid="{pid}"' in body):
            return body
        time.sleep(0.05)
    raise AssertionError(f"serve did not reach {n} targets: {body[-600:]}")


def process_sum(body, name, pid):
    return sum(v for k, v in samples(body, name).items() if f'pid="{pid}"' in k)


def check_against_proc(body, wl, before, after):
    """The process's figures summed over its threads' series: the kernel's counters
    over its phase (every thread asleep before and after it)."""
    vol = sum(after[t].voluntary - before[t].voluntary for t in wl.threads)
    cpu = sum(after[t].oncpu_ns - before[t].oncpu_ns for t in wl.threads) / 1e9
    got_vol = process_sum(body, "contrace_thread_voluntary_switches_total", wl.pid)
    got_cpu = process_sum(body, "contrace_thread_cpu_seconds_total", wl.pid)
    assert vol > 100 and abs(got_vol - vol) <= len(wl.threads), (wl.pid, got_vol, vol)
    assert abs(got_cpu - cpu) <= 0.02 * cpu + 20e-6 * len(wl.threads), (wl.pid, got_cpu, cpu)


def phase_checked(sv, wl, before=None):
    """A phase of wl (idle before and after it): serve's figures of it are the kernel's."""
    before = before or wl.snapshot()
    wl.phase()
    check_against_proc(sv.get("/metrics")[2], wl, before, wl.snapshot())


def wait_line(sv, pattern):
    """Scrapes until a line matches pattern (5 s at most)."""
    for _ in range(100):
        if re.search(pattern, sv.get("/metrics")[2], re.M):
            return
        time.sleep(0.05)


def stop_ok(sv):
    code, err = sv.stop()
    assert code == 0, err


def cleanup(sv, wls):
    """After a test that stopped serve itself (sv is None then) or failed."""
    for wl in wls:
        if wl:
            wl.stop()
    if sv:
        sv.stop()


def test_comm_over_six_processes_loads_one_set_of_programs(tmp_path):
    """serve --comm over 6 processes of one name: ONE ct_sched_switch program
    (one session: each switch of the machine pays once, not once per target),
    and each process's switches and CPU time are the kernel's over its phase."""
    name = f"ctsv{os.getpid() % 100000}"
    wls, sv = [], None
    try:
        wls = [phased_by_name(tmp_path, name) for _ in range(6)]
        before = [wl.snapshot() for wl in wls]
        sv = Serve("--comm", name)
        wait_targets(sv, 6)
        assert len(sched_switch_progs(sv.proc.pid)) == 1
        for wl in wls:
            wl.phase()
        after = [wl.snapshot() for wl in wls]
        body = sv.get("/metrics")[2]
        for wl, b, a in zip(wls, before, after):
            assert samples(body, "contrace_target_info").get(
                f'process="{name}",pid="{wl.pid}",command="{tmp_path / name} --spin 1 '
                f'--pingpong 1 --ms 150",python_version="",gil_tier=""') == 1, wl.pid
            check_against_proc(body, wl, b, a)
        stop_ok(sv)
        sv = None
    finally:
        cleanup(sv, wls)


def test_process_started_while_serving_is_traced_without_a_load(tmp_path):
    """A process started while serve runs joins the session: the same programs
    (no BPF load), its figures are the kernel's, and scrapes made meanwhile
    are answered promptly (a load took 100-300 ms, during which none was)."""
    name = f"ctsn{os.getpid() % 100000}"
    first = second = sv = None
    slow = []
    try:
        first = phased_by_name(tmp_path, name)
        sv = Serve("--comm", name)
        wait_targets(sv, 1)
        progs = sched_switch_progs(sv.proc.pid)
        second = phased_by_name(tmp_path, name)
        before = second.snapshot()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 5:
            s0 = time.monotonic()
            body = sv.get("/metrics")[2]
            slow.append(time.monotonic() - s0)
            if re.search(r"^contrace_targets 2$", body, re.M):
                break
        assert f'pid="{second.pid}"' in body, body[-600:]
        assert sched_switch_progs(sv.proc.pid) == progs and len(progs) == 1
        phase_checked(sv, second, before)
        stop_ok(sv)
        sv = None
    finally:
        cleanup(sv, (first, second))
    assert max(slow) < 0.2, slow


def spawn_with_pid(pid, start):
    """start() run until the process it returns has pid `pid` (set through
    ns_last_pid: another process of the machine may take it first)."""
    for _ in range(20):
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(pid - 1))
        wl = start()
        if wl.pid == pid:
            return wl
        wl.stop()
    pytest.skip(f"pid {pid} could not be had again")


def test_a_reused_pid_starts_from_zero(tmp_path):
    """A target exits and a new process of that name gets its pid: it is a new
    process, not the dead one's continuation (the session, which still holds
    the dead one's threads, is replaced first): its counters start at 0."""
    name = f"ctsr{os.getpid() % 100000}"
    old = new = sv = None
    try:
        old = phased_by_name(tmp_path, name)
        sv = Serve("--comm", name)
        wait_targets(sv, 1, old.pid)
        old.phase()
        body = sv.get("/metrics")[2]
        assert process_sum(body, "contrace_thread_voluntary_switches_total", old.pid) > 100
        old.stop()
        wait_line(sv, r"^contrace_targets_exited_total 1$")
        new = spawn_with_pid(old.pid, lambda: phased_by_name(tmp_path, name))
        before = new.snapshot()
        body = wait_targets(sv, 1, new.pid)
        after = new.snapshot()
        vol = sum(after[t].voluntary - before[t].voluntary for t in new.threads)
        got = process_sum(body, "contrace_thread_voluntary_switches_total", new.pid)
        assert got <= vol + len(new.threads), (got, vol)
        assert re.search(r"^contrace_sessions_replaced_total 1$", body, re.M), body[-800:]
        stop_ok(sv)
        sv = None
    finally:
        cleanup(sv, (old, new))


def test_targets_sharing_a_filter_bit(tmp_path):
    """Two targets whose pids share a bit of the BPF side's first filter
    (bpf/contrace.h, CT_TGID_BITS; 64 bits here, where pid_max is too small
    for pids 65,536 apart): when one exits, the other is still traced (its
    switches and CPU over a phase are the kernel's)."""
    name = f"ctsb{os.getpid() % 100000}"
    first = second = sv = None
    try:
        first = phased_by_name(tmp_path, name)
        base = first.pid + 64 * (1 if first.pid < 30000 else -1)
        second = spawn_with_pid(base, lambda: phased_by_name(tmp_path, name))
        sv = Serve("--comm", name, env={"CONTRACE_TEST_TGID_BITS": "64"})
        wait_targets(sv, 2)
        first.stop()
        wait_line(sv, r"^contrace_targets 1$")
        phase_checked(sv, second)
        stop_ok(sv)
        sv = None
    finally:
        cleanup(sv, (first, second))
