# SPDX-License-Identifier: GPL-2.0-only
"""Signals at any moment of the start, and the user's output files: a run
that fails or is stopped before tracing leaves them as they were, one that
traces puts them in place whole, two outputs in one file are refused, and
write errors fail with one line."""
import concurrent.futures
import json
import shlex
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import CONTRACE, WORKLOADS, Attached, interpreters, run_contrace, validate

LOCKS = os.path.join(WORKLOADS, "locks")
MAGIC = b"CONTRACE"
KEEP = b"the user's own file\n"


def blocked(pid, sig):
    """Whether the process has sig blocked: contrace's main() has begun."""
    try:
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        return False
    return bool(int(status.split("SigBlk:")[1].split()[0], 16) & (1 << (sig - 1)))


def working(pid):
    """Whether the process has its outputs or BPF objects open: it has begun its work.
    Only once it is contrace: before its execve the child of fork holds, for a
    moment, whatever the test's other threads had open (another try's files)."""
    try:
        if os.readlink(f"/proc/{pid}/exe") != os.path.realpath(CONTRACE):
            return False
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if "keep." in link or "bpf" in link:
            return True
    return False


def keep_files(d):
    for name in ("keep.json", "keep.ctr"):
        (d / name).write_bytes(KEEP)


def untouched(d):
    return ((d / "keep.json").read_bytes() == KEEP and (d / "keep.ctr").read_bytes() == KEEP
            and sorted(os.listdir(d)) == ["keep.ctr", "keep.json"])


def one_line_error(p, status, *needles):
    assert p.returncode == status, (p.returncode, p.stderr)
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("contrace"), p.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def default_signals():
    # A job in the background of a shell inherits SIGINT ignored: start from the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def tracing(d):
    """Whether tracing has begun: the recording is in place."""
    try:
        return (d / "keep.ctr").read_bytes()[:8] == MAGIC
    except OSError:
        return False


def signal_try(d, mode, sig, moment, target):
    """contrace started, sig sent `moment` s later (None: once tracing has begun); what it did."""
    keep_files(d)
    args = [CONTRACE, "-q", "--json", str(d / "keep.json"), "-o", str(d / "keep.ctr")]
    args += ["-p", str(target)] if mode == "pid" else ["--", "sleep", "5"]
    # Its own session: "group" sends the signal to contrace and the command at
    # once, as a terminal's Ctrl-C does (the command dies waiting to start).
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=d, start_new_session=True, preexec_fn=default_signals)
    launched = time.monotonic()
    if moment is None:
        while not tracing(d) and p.poll() is None and time.monotonic() < launched + 30:
            time.sleep(0.005)
    else:
        time.sleep(moment)
    handling, busy = blocked(p.pid, sig), working(p.pid)
    sent = time.monotonic() - launched
    if mode == "group":
        os.killpg(p.pid, sig)
    else:
        p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    return {"mode": mode, "sig": sig, "sent": sent, "handling": handling, "busy": busy,
            "rc": p.returncode,
            "err": err, "dir": d, "traced": moment is None}


def check_try(t):
    """The documented outcome of one try; which one it was."""
    d, sig, rc, err = t["dir"], t["sig"], t["rc"], t["err"]
    what = f"{t['mode']} {signal.Signals(sig).name} at {t['sent'] * 1000:.0f} ms: rc {rc}, {err!r}"
    assert not t["traced"] or ("before" not in err and rc != -sig), what
    if rc == -sig:
        # Killed before contrace's main() ran (ld.so, ASan's start-up: 5-20 ms),
        # as any program would be; never once it handles signals, nor once it
        # has begun its work (its outputs or BPF objects open) without handling
        # them, which was the bug.
        assert not t["handling"] and not t["busy"], what
        assert untouched(d), what
        return "killed before main"
    lines = [line for line in err.splitlines() if line.strip()]
    if "before" in err:
        # Stopped before tracing began: one line, no report, files as they were.
        assert rc == 128 + sig, what
        assert len(lines) == 1 and lines[0].startswith(
            f"contrace: stopped by {signal.Signals(sig).name} before"), what
        assert untouched(d), what
        return "stopped before tracing"
    # Traced: the whole report, and the recording in place.
    report = validate(json.loads((d / "keep.json").read_text()))
    assert report["kind"] == "total", what
    assert (d / "keep.ctr").read_bytes()[:8] == MAGIC, what
    assert sorted(os.listdir(d)) == ["keep.ctr", "keep.json"], what
    if t["mode"] == "pid":
        assert rc == 0, what  # -p: Ctrl-C ends the trace normally
    else:
        # The signal reached the command (passed on, or from the group): its status.
        assert rc == 128 + sig and report["trace"]["exit_signal"] == sig, what
    return "reported"


def test_a_signal_at_any_moment_of_the_start(tmp_path):
    """SIGINT and SIGTERM 0 to 500 ms after launch (before, during and after the
    BPF load), and after tracing began: a complete report, or one line saying
    nothing was traced and the user's files untouched; the documented status;
    never killed once it handles signals or has begun its work. 28 tries, 4 at
    a time: about 4 s. (Before the fix: killed, with both files truncated to
    0 bytes, for sends in the first 150-300 ms.)"""
    target = subprocess.Popen(["sleep", "60"])
    # 0 to 500 ms, and once tracing has begun (the start takes 150-450 ms under ASan).
    moments = [i * 0.5 / 11 for i in range(12)] + [None, None]
    tries = []
    for i, moment in enumerate(moments):
        for j, sig in enumerate((signal.SIGINT, signal.SIGTERM)):
            mode = ("pid", "cmd", "group")[(i + j) % 3]
            d = tmp_path / f"try{len(tries)}"
            d.mkdir()
            tries.append((d, mode, sig, moment))
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda a: signal_try(*a, target.pid), tries))
        assert target.poll() is None  # a -p target is never signalled
    finally:
        target.kill()
        target.wait()
    for t in results:
        check_try(t)


def dead_pid():
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_failed_start_keeps_the_users_files(tmp_path):
    """A bad pid, a command not found or not executable, a BPF load that fails
    (after the outputs are opened): the files are as they were, and nothing
    else is left in their directory. (They were truncated to 0 bytes.)"""
    noexec = tmp_path / "noexec"
    noexec.write_text("#!/bin/sh\n")
    noexec.chmod(0o644)
    cases = [
        (["-p", str(dead_pid())], 1, "no such process"),
        (["--", "/nonexistent"], 127, "command not found"),
        (["--", str(noexec)], 126, "Permission denied"),
        # Refused in the BPF set-up, after the outputs are opened.
        (["--btf", "/dev/null", "--", "true"], 1, "--btf /dev/null: cannot read: a character device"),
    ]
    for args, status, message in cases:
        d = tmp_path / f"case{status}{len(args)}"
        d.mkdir()
        keep_files(d)
        p = subprocess.run([CONTRACE, "--json", "keep.json", "-o", "keep.ctr", *args], cwd=d,
                           capture_output=True, text=True, timeout=60)
        one_line_error(p, status, message)
        assert untouched(d), args


def test_the_recording_is_in_place_while_tracing_and_after_sigkill(tmp_path):
    """-o is a recording at its path once tracing has begun (the JSON report
    only when written); SIGKILL leaves the recording, the old JSON, and no
    temporary file."""
    keep_files(tmp_path)
    target = subprocess.Popen(["sleep", "60"])
    p = subprocess.Popen([CONTRACE, "-p", str(target.pid), "--json", "keep.json", "-o",
                          "keep.ctr"], cwd=tmp_path, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()
        assert "tracing pid" in line, line
        assert (tmp_path / "keep.ctr").read_bytes()[:8] == MAGIC
        assert (tmp_path / "keep.json").read_bytes() == KEEP
        p.kill()
        p.wait(timeout=30)
        assert (tmp_path / "keep.ctr").read_bytes()[:8] == MAGIC
        assert (tmp_path / "keep.json").read_bytes() == KEEP
        assert sorted(os.listdir(tmp_path)) == ["keep.ctr", "keep.json"]
    finally:
        target.kill()
        target.wait()


def test_interval_json_lines_are_in_place_as_they_go(tmp_path):
    """With -i, the JSON Lines grow at their path from the start of tracing."""
    out = tmp_path / "iv.json"
    out.write_bytes(KEEP)
    p = subprocess.Popen([CONTRACE, "-q", "-i", "0.1", "--json", str(out), "--", "sleep", "5"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=default_signals)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and out.read_bytes().count(b"\n") < 2:
            time.sleep(0.05)
        lines = out.read_text().splitlines()
        assert len(lines) >= 2 and json.loads(lines[0])["kind"] == "interval"
    finally:
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=30)
    assert p.returncode == 128 + signal.SIGINT
    assert json.loads(out.read_text().splitlines()[-1])["kind"] == "total"


def test_a_report_replaces_a_file_keeping_its_mode(tmp_path):
    out = tmp_path / "private.json"
    out.write_bytes(KEEP)
    out.chmod(0o600)
    subprocess.run([CONTRACE, "-q", "--json", str(out), "--", "true"], check=True,
                   capture_output=True, timeout=60)
    assert validate(json.loads(out.read_text()))["kind"] == "total"
    assert out.stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["private.json"]


@pytest.fixture(scope="module")
def rec(tmp_path_factory):
    d = tmp_path_factory.mktemp("rec")
    subprocess.run([CONTRACE, "-q", "--json", str(d / "r.json"), "-o", str(d / "r.ctr"),
                    "--timeline", "--", LOCKS, "mutex", "2", "10", "100"], check=True,
                   capture_output=True, timeout=60)
    return d


def test_one_file_twice_is_refused(tmp_path, rec):
    """Two outputs naming one file (however spelt), or an output naming an
    input: a usage error (exit 2), one line, the file untouched. (-o F --json F
    wrote the JSON over the recording; -o z --flamegraph z left the flame
    graph where the recording was; report s.ctr --folded s.ctr replaced the
    recording with an empty file.)"""
    f = tmp_path / "f"
    f.write_bytes(KEEP)
    os.link(f, tmp_path / "hard")
    os.symlink("f", tmp_path / "sym")
    prog = tmp_path / "prog"
    prog.write_bytes(open("/bin/true", "rb").read())
    prog.chmod(0o755)
    trace = [
        (["-o", "f", "--json", "f"], "-o and --json name the same file 'f'"),
        (["-o", "f", "--json", "./f"], "-o and --json name the same file"),
        (["-o", "f", "--json", str(f)], "-o and --json name the same file"),
        (["-o", "hard", "--json", "f"], "-o and --json name the same file"),
        (["-o", "new.ctr", "--json", "./new.ctr"], "-o and --json name the same file"),
        (["-o", "f", "--flamegraph", "f"], "-o and --flamegraph name the same file 'f'"),
        (["-o", "f", "--folded", "sym"], "-o and --folded name the same file"),
        (["--json", "f", "--pprof", "hard"], "--json and --pprof name the same file"),
        (["--folded", "f", "--flamegraph", "./f"], "--folded and --flamegraph name the same"),
        (["--perfetto", "f", "--pprof", "f"], "--perfetto and --pprof name the same file"),
        (["-o", "x.ctr", "--perfetto", "f", "--folded", "hard"],
         "--perfetto and --folded name the same file"),
        (["-q", "-o", "-", "--json", "-"], "-o and --json would both write to standard output"),
        (["--btf", "f", "--json", "hard"], "--json 'hard' would overwrite the BTF file 'f'"),
    ]
    for args, message in trace:
        for cmd in ([], ["record"] if "-o" in args else []):
            p = subprocess.run([CONTRACE, *cmd, *args, "--", "true"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=60)
            one_line_error(p, 2, message)
    # The command itself, named by its path: as -o, --json, and with --repeat.
    for args in (["-o", "./prog"], ["--flamegraph", str(prog)], ["--repeat", "2", "--json", "prog"]):
        p = subprocess.run([CONTRACE, *args, "--", "./prog"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=60)
        one_line_error(p, 2, f"{args[-2]} '{args[-1]}' would overwrite the command './prog'")
    p = subprocess.run([CONTRACE, "-o", "-", "--", "true"], capture_output=True, text=True)
    one_line_error(p, 2, "-o - puts the recording on standard output")
    assert f.read_bytes() == KEEP and prog.read_bytes() == open("/bin/true", "rb").read()
    assert sorted(os.listdir(tmp_path)) == ["f", "hard", "prog", "sym"]

    ctr, js = rec / "r.ctr", rec / "r.json"
    data, jdata = ctr.read_bytes(), js.read_bytes()
    link = tmp_path / "rec-link.ctr"
    os.symlink(ctr, link)
    reports = [
        (["--json", str(ctr)], f"--json '{ctr}' would overwrite the recording '{ctr}'"),
        (["--perfetto", str(link)], "--perfetto"),
        (["--folded", str(ctr)], "--folded"),
        (["--pprof", str(link)], "--pprof"),
        (["--flamegraph", str(ctr)], "--flamegraph"),
        (["-q", "--json", "d", "--folded", "./d"], "--json and --folded name the same file 'd'"),
        (["--pprof", "d", "--flamegraph", "d"], "--pprof and --flamegraph name the same file"),
    ]
    for args, message in reports:
        p = subprocess.run([CONTRACE, "report", str(ctr), *args], cwd=tmp_path,
                           capture_output=True, text=True)
        one_line_error(p, 2, message)
        assert "would overwrite" not in message or "the recording" in p.stderr, p.stderr
    diffs = [(["--json", "d", "--markdown", "./d"], "--json and --markdown name the same file"),
             (["--json", "-", "--markdown", "-"], "--json and --markdown would both write to "
              "standard output"),
             (["--json", str(js)], "would overwrite the input"),
             (["--markdown", str(ctr)], "would overwrite the input")]
    for args, message in diffs:
        p = subprocess.run([CONTRACE, "diff", *args, str(js), str(ctr)], cwd=tmp_path,
                           capture_output=True, text=True)
        one_line_error(p, 2, message)
    assert ctr.read_bytes() == data and js.read_bytes() == jdata
    assert sorted(os.listdir(tmp_path)) == ["f", "hard", "prog", "rec-link.ctr", "sym"]


def test_write_errors_fail(rec):
    """A full disk (/dev/full) fails every output with one line: the trace and
    --repeat exit 1, diff 2. (diff --json, --markdown and --repeat --json
    exited 0; report --perfetto said no reason.)"""
    full = open("/dev/full", "w")
    js, ctr = str(rec / "r.json"), str(rec / "r.ctr")
    cases = [
        ([CONTRACE, "-q", "--json", "/dev/full", "--", "true"], None, 1,
         "cannot write JSON to '/dev/full': No space left on device"),
        ([CONTRACE, "-q", "-o", "/dev/full", "--", "true"], None, 1,
         "cannot write the recording '/dev/full'"),
        ([CONTRACE, "--repeat", "2", "-q", "--json", "/dev/full", "--", "true"], None, 1,
         "cannot write JSON to '/dev/full'"),
        ([CONTRACE, "diff", "--json", "/dev/full", js, ctr], subprocess.DEVNULL, 2,
         "cannot write '/dev/full': No space left on device"),
        ([CONTRACE, "diff", "--markdown", "/dev/full", js, ctr], subprocess.DEVNULL, 2,
         "cannot write '/dev/full'"),
        ([CONTRACE, "diff", js, ctr], full, 2, "cannot write to standard output"),
        ([CONTRACE, "report", ctr], full, 1, "cannot write the report to standard output"),
        # The reason was missing (uninitialised bytes) when the last flush failed.
        ([CONTRACE, "report", "-q", ctr, "--perfetto", "/dev/full"], None, 1,
         "cannot write the timeline '/dev/full': No space left on device"),
    ]
    for args, stdout, status, message in cases:
        p = subprocess.run(args, stdout=stdout if stdout else subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        assert p.returncode == status, (args, p.returncode, p.stderr)
        lines = [line for line in p.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and message in lines[0], (args, p.stderr)
    # The text report and --repeat's summary go to stderr: one that cannot be
    # written fails the run (exit 1), the message lost with it.
    for args in ([CONTRACE, "--", "true"], [CONTRACE, "-p", str(os.getpid()), "-d", "0.1"],
                 [CONTRACE, "--repeat", "2", "--", "true"]):
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=full, timeout=60)
        assert p.returncode == 1 and p.stdout == b"", args
    full.close()


def test_command_stdout_is_its_own(tmp_path):
    """issue 14 item 1: a traced command's standard output is byte for byte
    what it writes untraced (gzip -c > out.gz passes gzip -t); the report is
    on stderr, --json - still on stdout."""
    data = tmp_path / "data"
    data.write_bytes(os.urandom(1 << 20) + b"text " * 100000)
    plain = subprocess.run(["gzip", "-n", "-c", str(data)], capture_output=True,
                           check=True).stdout
    gz = tmp_path / "out.gz"
    with open(gz, "wb") as f:
        p = subprocess.run([CONTRACE, "--", "gzip", "-n", "-c", str(data)], stdout=f,
                           stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert gz.read_bytes() == plain
    subprocess.run(["gzip", "-t", str(gz)], check=True)
    assert p.stderr.startswith("contrace 0.") and "\nPROCESS " in p.stderr
    assert "gzip -n -c" in p.stderr and "The command exited with status 0." in p.stderr
    # --json - is the one output on stdout: after the command's own bytes.
    p = subprocess.run([CONTRACE, "--json", "-", "--", "gzip", "-n", "-c", str(data)],
                       capture_output=True, timeout=60)
    assert p.returncode == 0 and p.stdout.startswith(plain), p.stderr
    report = validate(json.loads(p.stdout[len(plain):]))
    assert report["processes"][0]["comm"] == "gzip" and b"PROCESS" not in p.stderr


def test_every_interval_is_reported(tmp_path):
    """issue 14 item 2: -d 1.25 -i 0.5 reports three intervals, the last
    (0.25 s) labelled short, then the total; text, JSON Lines and the
    recording's replay alike. (The 1.0-1.25 s interval was only in the total.)"""
    target = subprocess.Popen(["sleep", "30"])
    try:
        p = subprocess.run([CONTRACE, "-p", str(target.pid), "-d", "1.25", "-i", "0.5", "-o",
                            str(tmp_path / "t.ctr"), "--json", str(tmp_path / "t.json")],
                           capture_output=True, text=True, timeout=60)
    finally:
        target.kill()
        target.wait()
    assert p.returncode == 0, p.stderr
    reports = [json.loads(l) for l in (tmp_path / "t.json").read_text().splitlines()]
    assert [r["kind"] for r in reports] == ["interval"] * 3 + ["total"]
    assert [r["interval_index"] for r in reports] == [1, 2, 3, 0]
    for r in reports:
        validate(r)
        assert r["trace"]["interval_ns"] == 500_000_000
    iv = [r["trace"] for r in reports[:3]]
    assert [t["short_interval"] for t in iv] == [False, False, True]
    assert all(abs(t["duration_ns"] - 500e6) < 50e6 for t in iv[:2])
    assert abs(iv[2]["duration_ns"] - 250e6) < 50e6
    # The intervals tile the trace: the last ends where the total does.
    for a, b in zip(iv, iv[1:]):
        assert b["window_start_ns"] == a["window_start_ns"] + a["duration_ns"]
    total = reports[3]["trace"]
    assert iv[2]["window_start_ns"] + iv[2]["duration_ns"] == \
        total["window_start_ns"] + total["duration_ns"]
    heads = [l for l in p.stderr.splitlines() if l.startswith("interval ")]
    assert len(heads) == 3 and "short" not in heads[0] + heads[1]
    assert heads[2].startswith("interval 3: ") and heads[2].endswith(" of 500ms)"), heads[2]
    # The recording gives the same reports.
    r = subprocess.run([CONTRACE, "report", str(tmp_path / "t.ctr")], capture_output=True,
                       text=True, timeout=60)
    start, rest = p.stderr.split("\n", 1)
    assert start.startswith("contrace: tracing pid") and r.returncode == 0 and r.stdout == rest
    r = subprocess.run([CONTRACE, "report", "-q", "--json", "-", str(tmp_path / "t.ctr")],
                       capture_output=True, text=True, timeout=60)
    assert [json.loads(l) for l in r.stdout.splitlines()] == reports


def test_a_running_process_command_line_quoted(tmp_path):
    """issue 14 item 3, with -p: the PROCESS line and JSON `cmdline` of a
    process contrace did not launch were its arguments joined by spaces
    (`'a b' ''` read as `a b `); now quoted as the launched command is."""
    args = [sys.executable, "-c", "import time; time.sleep(30)", "a b", "", "it's", "$x"]
    target = subprocess.Popen(args)
    try:
        time.sleep(0.3)
        p = subprocess.run([CONTRACE, "-p", str(target.pid), "-d", "0.2", "--json",
                            str(tmp_path / "r.json")], capture_output=True, text=True, timeout=60)
    finally:
        target.kill()
        target.wait()
    assert p.returncode == 0, p.stderr
    proc = validate(json.loads((tmp_path / "r.json").read_text()))["processes"][0]
    assert shlex.split(proc["cmdline"]) == args
    line = next(l for l in p.stderr.splitlines() if l.startswith(f"PROCESS {target.pid} "))
    assert shlex.split(line[line.index("[") + 1:line.rindex("]")]) == args


def test_arguments_quoted_as_a_shell_takes_them(tmp_path):
    """issue 14 item 3: `-- prog --save '' --appendonly no` was shown as
    `--save  --appendonly`: the header and JSON `command` are quoted so that a
    shell gives back the same arguments, and JSON has them as `argv`."""
    args = ["sh", "-c", "exit 0", "--save", "", "--appendonly", "no", "a b", "it's", "$HOME",
            "*", "tab\there", "é"]
    p = subprocess.run([CONTRACE, "-o", str(tmp_path / "a.ctr"), "--json",
                        str(tmp_path / "a.json"), "--", *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    trace = validate(json.loads((tmp_path / "a.json").read_text()))["trace"]
    assert trace["argv"] == args
    assert shlex.split(trace["command"]) == args
    head = p.stderr.splitlines()[0]
    quoted = head[head.index("command [") + 9:head.index("] (pid ")]
    assert quoted == trace["command"] and shlex.split(quoted) == args
    # The shell itself agrees.
    echo = subprocess.run(["bash", "-c", "printf '%s\\0' " + quoted], capture_output=True,
                          text=True, check=True).stdout
    assert echo.split("\0")[:-1] == args
    # A recording keeps them; with -p, argv is [].
    r = subprocess.run([CONTRACE, "report", "-q", "--json", "-", str(tmp_path / "a.ctr")],
                       capture_output=True, text=True, check=True)
    assert json.loads(r.stdout)["trace"]["argv"] == args
    target = subprocess.Popen(["sleep", "30"])
    try:
        _, report, _ = run_contrace("-p", str(target.pid), "-d", "0.2")
    finally:
        target.kill()
        target.wait()
    assert report["trace"]["argv"] == [] and report["trace"]["command"] == ""


def test_follow_start_line_counts_processes(tmp_path):
    """issue 14 item 5: with -f the start line counts processes and threads
    ("(3 threads)" for three single-threaded processes read as one process);
    the heading of blocking syscalls says what -S adds."""
    sh = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            kids = open(f"/proc/{sh.pid}/task/{sh.pid}/children").read().split()
            if len(kids) == 2:
                break
            time.sleep(0.01)
        assert len(kids) == 2
        p = subprocess.run([CONTRACE, "-f", "-p", str(sh.pid), "-d", "0.3"],
                           capture_output=True, text=True, timeout=60)
        q = subprocess.run([CONTRACE, "-p", str(sh.pid), "-d", "0.3"],
                           capture_output=True, text=True, timeout=60)
    finally:
        subprocess.run(["pkill", "-P", str(sh.pid)])
        sh.kill()
        sh.wait()
    assert p.returncode == 0 and q.returncode == 0, p.stderr + q.stderr
    first = p.stderr.splitlines()[0]
    assert first == (f"contrace: tracing pid {sh.pid} and its children: 3 processes, "
                     "3 threads. Ctrl-C to stop."), first
    assert q.stderr.splitlines()[0] == f"contrace: tracing pid {sh.pid} (1 thread). Ctrl-C to stop."
    assert "SYSCALLS THAT BLOCKED (-S also counts the calls that did not)" in p.stderr
    assert "SYSCALLS THREADS BLOCKED IN" not in p.stderr


CONTRACE_SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(CONTRACE_SRC, "tests", "data", "rec-0.1.0")


def check_graded(text, report):
    """The text's WARNING and notes, against the report's drops."""
    d = report["drops"]
    wakeups = sum(p["wakeups"] for p in report["processes"])
    for key, what in (("missed_switch_ins", "wakeup latencies not measured"),
                      ("missed_wakeups", "wakeups whose sched_waking was not seen")):
        line = f"note: {d[key]} of {wakeups} {what}"
        assert (line in text) == (d[key] > 0), (line, text[:600])
    assert ("WARNING" in text) == d["warning"]


def test_losses_graded(tmp_path):
    """issue 14 item 6: a loss that only thins a sample (a missed switch-in
    or sched_waking: a latency not measured, a waker [unknown]) is a note with
    its share, not a WARNING; one that leaves figures short is a WARNING
    naming them. The 0.1.0 demo recording has both kinds of notes."""
    r = subprocess.run([CONTRACE, "report", os.path.join(DATA, "demo-intervals.ctr")],
                       capture_output=True, text=True, check=True)
    j = subprocess.run([CONTRACE, "report", "-q", "--json", "-",
                        os.path.join(DATA, "demo-intervals.ctr")],
                       capture_output=True, text=True, check=True)
    texts = r.stdout.split("\ncontrace 0.")[1:]
    reports = [json.loads(l) for l in j.stdout.splitlines()]
    assert len(texts) == len(reports) and "WARNING" not in r.stdout
    assert any(x["drops"]["missed_wakeups"] for x in reports)
    assert any(x["drops"]["missed_switch_ins"] for x in reports)
    for text, report in zip(texts, reports):
        assert not report["drops"]["warning"]
        check_graded(text, report)
    # The demo, live: no WARNING.
    p = subprocess.run([CONTRACE, "--json", str(tmp_path / "d.json"), "--",
                        os.path.join(WORKLOADS, "demo")], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    check_graded(p.stderr, validate(json.loads((tmp_path / "d.json").read_text())))
    assert "WARNING" not in p.stderr
    # Threads that could not be traced leave every figure short: a WARNING that says so.
    p = subprocess.run([CONTRACE, "--max-threads", "2", "--json", str(tmp_path / "m.json"),
                        "--", os.path.join(WORKLOADS, "demo")], capture_output=True,
                       text=True, timeout=60)
    report = validate(json.loads((tmp_path / "m.json").read_text()))
    assert report["drops"]["threads_dropped"] > 0 and report["drops"]["warning"]
    check_graded(p.stderr, report)
    assert ("WARNING: some data was lost; these figures are incomplete:\n"
            f"  {report['drops']['threads_dropped']} threads not traced: no free slot "
            "(raise --max-threads); every figure of their process leaves them out") in p.stderr


def test_threads_whose_start_failed_are_found_later(tmp_path):
    """A new thread whose kernel task storage cannot be had at its fork (busy
    on that CPU, or exhausted: 1 of ~10^5 threads of the serve soak) is
    claimed at its first switch-out, from the kernel's counters as they were
    at its creation: traced whole, not a loss. Every third claim made to fail
    (CONTRACE_TEST_FAIL_CLAIMS), at forks and first switch-outs alike: a
    thread refused both times is found by the seeding iterator and traced
    from then on; the counts say how many, in text, JSON and the recording."""
    env = dict(os.environ, CONTRACE_TEST_FAIL_CLAIMS="3")
    p = subprocess.run([CONTRACE, "--json", str(tmp_path / "r.json"), "-o",
                        str(tmp_path / "r.ctr"), "--", os.path.join(WORKLOADS, "churn"), "16",
                        "300", "1"], capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    started = int(p.stdout.split()[1])  # the workload's own count of its threads
    report = validate(json.loads((tmp_path / "r.json").read_text()))
    trace = report["trace"]
    failed, late = report["drops"]["storage_failed"], trace["threads_found_late"]
    claimed = trace["threads_claimed_late"]
    # Every third claim fails, at forks and first switch-outs alike: of the
    # attempts (each thread's fork, and a late claim for each fork that
    # failed: claimed + failed), a third failed (the failed forks, and the
    # late claims that failed again: failed). Which ones depends on how the
    # forks and first switch-outs interleave: 8 of 32 forks, 4 of those
    # again, once (64 threads: all three outcomes each time).
    attempts = started + claimed + failed
    assert abs(claimed + 2 * failed - attempts // 3) <= 1, (claimed, failed, started)
    assert claimed >= 1 and failed >= 1, (claimed, failed, started)
    assert report["drops"]["warning"]
    # They sleep 300 ms: all but a rare one are found.
    assert late >= failed - 1
    threads = report["processes"][0]["threads"]
    # (late may pass failed by one: a thread the re-seeding found before its
    # fork program had claimed its storage; 11 of 10 once.)
    assert len(threads) == started + 1 - max(0, failed - late)
    workers = [t for t in threads if t["tid"] != trace["target_pid"]]
    assert all(t["alive_ns"] < 1.5e9 for t in workers)
    # Each thread claimed at its first switch-out has its whole life: 300 ms
    # of sleep at least, and its time adds up; the ones found later do not.
    whole = [t for t in workers if t["alive_ns"] >= 0.3e9]
    assert len(whole) == started - failed, (len(whole), started, failed, late)
    for t in whole:
        assert t["oncpu_ns"] + t["runq_ns"] + t["blocked_ns"] >= 0.99 * t["alive_ns"], t
    assert f"    ({late} of them found alive later, traced from then on)" in p.stderr
    r = subprocess.run([CONTRACE, "report", "-q", "--json", "-", str(tmp_path / "r.ctr")],
                       capture_output=True, text=True, check=True)
    back = json.loads(r.stdout)["trace"]
    assert (back["threads_found_late"], back["threads_claimed_late"]) == (late, claimed)


def summary_of(text):
    """The SUMMARY's lines of a text report: it comes right after the header."""
    lines = text.splitlines()
    assert lines[1] == "SUMMARY", lines[:3]
    out = []
    for line in lines[2:]:
        if not line.startswith("  "):
            break
        out.append(line.strip())
    return out


def test_summary_first(tmp_path):
    """issue 14 item 10: the report opens with the findings that matter most,
    from every section, ranked by the time they explain, each naming where
    to read more; the same list in JSON; "no contention found" for a program
    that waits for nothing."""
    pys = [p for label, p in interpreters() if "3.12" in label] or \
        [p for _, p in interpreters()]
    py = pys[0]
    pyphased = os.path.join(CONTRACE_SRC, "tools/workloads/pyphased.py")
    p = subprocess.run([CONTRACE, "--json", str(tmp_path / "py.json"), "--", py, pyphased,
                        "--cpu", "4", "--ms", "1500", "--auto", "1"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    report = validate(json.loads((tmp_path / "py.json").read_text()))
    found = report["summary"]
    lines = summary_of(p.stderr)
    assert lines == [f"{i + 1}. {f['finding']} (see {f['section']})" for i, f in enumerate(found)]
    # The GIL verdict, from inside the GIL section, is a finding, ranked by the
    # threads' waits for the GIL (a run-queue wait on a busy machine may outrank it).
    g = report["processes"][0]["gil"]
    verdicts = [v for v in g["verdicts"] if v.startswith("CPU-bound threads")]
    assert len(verdicts) == 1, g
    verdict = verdicts[0]
    (gil,) = [f for f in found if f["kind"] == "gil"]
    assert gil["finding"] == verdict and gil["section"] == "GIL"
    assert gil["time_ns"] == g["wait_ns"]
    assert all(f["kind"] == "cpu" for f in found[:found.index(gil)])
    assert [f["time_ns"] for f in found] == sorted((f["time_ns"] for f in found), reverse=True)
    assert p.stderr.index("\nSUMMARY\n") < p.stderr.index("\nPROCESS ")

    # A lock that serialises the process: announced first, not only in its LOCKS row.
    p = subprocess.run([CONTRACE, "--json", str(tmp_path / "l.json"), "--",
                        os.path.join(WORKLOADS, "locks"), "mutex", "3", "100", "1000"],
                       capture_output=True, text=True, timeout=120)
    report = validate(json.loads((tmp_path / "l.json").read_text()))
    (lock,) = [l for l in report["processes"][0]["locks"] if l["name"] == "locks:queue_lock"]
    kinds = {f["kind"]: f for f in report["summary"]}
    if lock["serialising"]:
        assert "locks:queue_lock serialises the process" in kinds["lock"]["finding"]
    assert kinds["lock"]["time_ns"] == lock["wait_ns"] and kinds["lock"]["section"] == "LOCKS"
    assert summary_of(p.stderr)[list(kinds).index("lock")].startswith(
        f"{list(kinds).index('lock') + 1}. ")

    # Nothing to wait for.
    p = subprocess.run([CONTRACE, "--json", str(tmp_path / "s.json"), "--", "sleep", "0.3"],
                       capture_output=True, text=True, timeout=60)
    report = validate(json.loads((tmp_path / "s.json").read_text()))
    assert [f["kind"] for f in report["summary"]] == ["none"]
    assert summary_of(p.stderr) == [report["summary"][0]["finding"]]
    assert report["summary"][0]["finding"].startswith("no contention found")


def test_program_named_as_it_runs(tmp_path):
    """issue 14 item 7: a program started through a symlink of another name
    (redis-server -> redis-check-rdb) has its locks and call sites named
    as its PROCESS header names it, not by the file's name; libraries keep
    theirs."""
    link = tmp_path / "my-server"
    link.symlink_to(os.path.join(WORKLOADS, "locks"))
    _, report, _ = run_contrace("--", str(link), "mutex", "3", "100", "1000")
    (proc,) = report["processes"]
    assert proc["comm"] == "my-server"
    names = [l["name"] for l in proc["locks"]]
    assert "my-server:queue_lock" in names and not any(n.startswith("locks:") for n in names)
    (l,) = [l for l in proc["locks"] if l["name"] == "my-server:queue_lock"]
    assert l["call_sites"][0]["name"].startswith("my-server:mutex_worker+")


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    return out.split("Build ID: ")[1].split()[0] if "Build ID: " in out else None


def nm_functions(path):
    """{name: (start, end)} of the functions in an ELF file's .symtab, from nm."""
    out = subprocess.run(["nm", "-S", "--defined-only", path], capture_output=True,
                         text=True).stdout
    funcs = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "tT":
            funcs[f[3]] = (int(f[0], 16), int(f[0], 16) + int(f[1], 16))
    return funcs


LOCKER = """
import threading, time
l = threading.Lock()
def w():
    end = time.time() + 0.6
    while time.time() < end:
        with l:
            sum(range(2000))
ts = [threading.Thread(target=w) for _ in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
"""


def test_names_from_debug_files(tmp_path):
    """issue 14 item 8: Debian's stripped /usr/bin/python3.11 is named from
    its debug file (python3.11-dbg, /usr/lib/debug/.build-id/...), looked
    for inside the process's root; where the target's root has none (a
    mount namespace with an empty /usr/lib/debug), the report names the
    debug file that would supply the names."""
    py = "/usr/bin/python3.11"
    bid = build_id(py) if os.path.exists(py) else None
    if not bid:
        pytest.skip("no Debian /usr/bin/python3.11 with a build-id")
    debug = f"/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug"
    if not os.path.exists(debug):
        pytest.skip(f"{debug} missing: apt-get install python3.11-dbg (make deps)")
    script = tmp_path / "locker.py"
    script.write_text(LOCKER)
    # With the debug file: a call site in a function only its .symtab has.
    # The exact tiers (--gil=uprobe): whether the debug file gives them take_gil.
    _, report, err = run_contrace("--gil=uprobe", "--", py, str(script))
    funcs = nm_functions(debug)
    assert "take_gil.lto_priv.0" in funcs and "take_gil.lto_priv.0" not in nm_functions(py)
    sites = [c["name"] for l in report["processes"][0]["locks"] for c in l["call_sites"]]
    local = [s for s in sites if s.startswith("python3.11:take_gil.lto_priv.0+0x")]
    assert local, sites
    start, end = funcs["take_gil.lto_priv.0"]
    assert all(int(s.split("+")[1], 16) < end - start for s in local)
    assert not any(s.startswith("python3.11:0x") for s in sites), sites
    assert report["trace"]["names_missing"] == []
    # The GIL: Debian's build has only LTO clones of take_gil/drop_gil: tier B, said.
    assert report["processes"][0]["gil"]["tier"] == "libc"
    # Without it in the target's root: the same sites as addresses, and the file to install.
    p = subprocess.run([CONTRACE, "--gil=uprobe", "--json", str(tmp_path / "nodbg.json"), "--",
                        "unshare", "-m",
                        "sh", "-c", f"mount -t tmpfs none /usr/lib/debug && exec {py} {script}"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    report = validate(json.loads((tmp_path / "nodbg.json").read_text()))
    sites = [c["name"] for l in report["processes"][0]["locks"] for c in l["call_sites"]]
    hex_sites = [int(s.split(":0x")[1], 16) for s in sites if s.startswith("python3.11:0x")]
    assert any(start <= a < end for a in hex_sites), sites
    assert {"file": py, "debug_file": debug} in report["trace"]["names_missing"]
    assert (f"note: names in {py} shown as addresses: its debug symbols, {debug}, are not "
            "installed") in p.stderr


UDP_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
for _ in range(int(sys.argv[1])):
    s.recv(64)
"""

UDP_CLIENT = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[2])):
    s.sendto(b"x", ("127.0.0.1", int(sys.argv[1])))
    time.sleep(0.003)
sys.stdin.read()  # alive until the trace ends: its name is read then
"""


def test_loopback_wakeups_name_the_sender(tmp_path):
    """issue 14 item 9: a datagram sent on loopback wakes the receiver from
    the NET_RX softirq the sender's own sendto raised: the sender is named
    as the waker, marked "via softirq"; [interrupt] stays for timers."""
    n = 200
    server = subprocess.Popen(["/usr/bin/python3", "-c", UDP_SERVER, str(n)],
                              stdout=subprocess.PIPE, text=True)
    port = server.stdout.readline().strip()
    ct = Attached(server.pid, tmp_path=tmp_path)
    client = subprocess.Popen(["/usr/bin/python3", "-c", UDP_CLIENT, port, str(n)],
                              stdin=subprocess.PIPE)
    try:
        server.wait(timeout=30)
        report = ct.stop()
    finally:
        client.communicate(timeout=30)
    assert client.returncode == 0
    (main,) = [t for t in report["processes"][0]["threads"] if t["tid"] == server.pid]
    wakers = {(w["kind"], w["tid"]): w for w in main["wakers"]}
    # Each datagram but the first few (sent before the server slept) woke it.
    sender = [w for w in main["wakers"] if w["kind"] == "softirq"]
    assert len(sender) == 1, main["wakers"]
    assert sender[0]["pid"] == sender[0]["tid"] == client.pid and sender[0]["comm"] == "python3"
    assert sender[0]["count"] >= 0.9 * n, main["wakers"]
    assert wakers.get(("interrupt", 0), {"count": 0})["count"] <= 0.1 * n
    assert f"{sender[0]['tid']} python3 via softirq ({sender[0]['count']})" in ct.stderr
