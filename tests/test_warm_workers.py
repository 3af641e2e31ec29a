"""The default local runner's workers are forks of a pool the launcher forks (`pipelines.warm_workers`),
not fresh `sdk_worker_main` interpreters: the real job is unchanged byte for byte, a worker that
dies fails the job instead of stalling it, and no process outlives the job (also on Ctrl-C)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from m3w_builder.demo.crawl import write_sample_crawl
from pipelines.m3w import run

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "NO_GCE_CHECK": "True"}

# A two-worker job whose third element's worker kills itself, then (when told) one that waits.
SCRIPT = """
import os, signal, sys, time
import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from pipelines.config import beam_args

def step(x, mode):
    if x == 3 and mode == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "wait":
        print("WORKER", os.getpid(), flush=True)
        time.sleep(600)
    return x

flags = ["--direct_num_workers=2"]
options = PipelineOptions(beam_args(flags))
try:
    from pipelines import warm_workers
    runner = warm_workers.local_runner(flags, options)
    context = warm_workers.forked(runner)
except ImportError:  # Beam's own workers
    import contextlib
    runner, context = None, contextlib.nullcontext()
pipeline = beam.Pipeline(runner=runner, options=options)
_ = pipeline | beam.Create(range(10)) | beam.Reshuffle() | beam.Map(step, sys.argv[1])
with context:
    pipeline.run().wait_until_finish()
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return write_sample_crawl(tmp_path_factory.mktemp("crawl"))


def _watch(proc: subprocess.Popen, seen: dict, stop: threading.Event) -> None:
    """Record every descendant of `proc` (pid → (parent pid, command line, start time)) while it runs.
    A failed read of /proc (a process forking or exiting under it) is retried at the next look, not
    taken for the end of the run."""
    root = psutil.Process(proc.pid)
    while not stop.is_set() and proc.poll() is None:
        try:
            children = root.children(recursive=True)
        except psutil.Error:
            children = []
        for child in children:
            if child.pid in seen:
                continue
            try:
                seen[child.pid] = (child.ppid(), child.cmdline(), child.create_time())
            except psutil.Error:
                pass
        stop.wait(0.05)


def _watched(cmd: list[str], timeout: float = 600) -> tuple[subprocess.CompletedProcess, dict, int]:
    """Run `cmd`, returning its result, its descendants and its pid."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: dict = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(proc, seen, stop), daemon=True)
    watcher.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
        stop.set()
        watcher.join()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), seen, proc.pid


def _alive(seen: dict) -> list[int]:
    """The recorded processes still running (the same process: same start time)."""
    alive = []
    for pid, (_, _, started) in seen.items():
        try:
            if psutil.Process(pid).create_time() == started:
                alive.append(pid)
        except psutil.Error:
            pass
    return alive


def _files(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())
            if p.suffix in (".tar", ".idx", ".parquet", ".model")}


def _rejects(out: Path) -> dict[str, list]:
    """Every rejects row, by file kind, in a fixed order (workers may write them in any order)."""
    rows = {}
    for path in sorted((out / "rejects").glob("*.parquet")):
        table = pq.read_table(path).to_pylist()
        rows[path.name.split("-")[0]] = sorted(json.dumps(r, sort_keys=True, default=str) for r in table)
    return rows


def test_default_workers_are_forks_of_one_pool_and_the_job_is_unchanged(sample, tmp_path):
    warm, one = tmp_path / "warm", tmp_path / "in_memory"
    launcher_cmd = [sys.executable, "-m", "pipelines.m3w", "--input", str(sample), "--output", str(warm),
                    "--no_http", "--direct_num_workers=2"]
    done, seen, launcher = _watched(launcher_cmd)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not [cmd for _, cmd, _ in seen.values() if any("sdk_worker_main" in part for part in cmd)]
    pools = [pid for pid, (parent, cmd, _) in seen.items() if parent == launcher and cmd == launcher_cmd]
    workers = [pid for pid, (parent, cmd, _) in seen.items() if parent in pools and cmd == launcher_cmd]
    assert len(pools) == 1 and len(workers) == 2, (seen, done.stderr[-2000:])
    assert not _alive(seen), "processes outlived the job"

    run(["--input", str(sample), "--output", str(one), "--no_http", "--direct_num_workers=1"])
    assert _files(warm) == _files(one)
    assert json.loads((warm / "dataset.json").read_text())["stats"] == json.loads((one / "dataset.json").read_text())["stats"]
    assert _rejects(warm) == _rejects(one)


def test_a_worker_that_dies_fails_the_job_and_leaves_no_process():
    done, seen, _ = _watched([sys.executable, "-c", SCRIPT, "die"], timeout=180)
    assert done.returncode != 0
    assert "exited with status -9" in done.stderr
    assert not _alive(seen)


@pytest.mark.parametrize("how", ["ctrl_c", "kill"])
def test_a_stopped_launcher_leaves_no_worker(how):
    """Ctrl-C (SIGINT to the whole process group) or the launcher alone killed: the pool kills its
    workers and exits."""
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, "wait"], cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()  # a worker is running the step
        assert line.startswith("WORKER"), "no worker started"
        tree = {p.pid: p.create_time() for p in psutil.Process(proc.pid).children(recursive=True)}
        if how == "ctrl_c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.kill()
        proc.wait(timeout=60)
        deadline = time.time() + 30
        while time.time() < deadline and _alive({pid: (0, [], t) for pid, t in tree.items()}):
            time.sleep(0.1)
        assert not _alive({pid: (0, [], t) for pid, t in tree.items()})
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("flags, warm", [
    ([], True),
    (["--direct_num_workers=2"], True),
    (["--runner=DirectRunner", "--direct_num_workers=3"], True),
    (["--direct_num_workers=1"], False),  # in_memory: no worker process at all
    (["--direct_running_mode=multi_processing"], False),  # the user's choice: Beam's own workers
    (["--environment_type=PROCESS", "--environment_config={\"command\": \"w\"}"], False),
    (["--runner=DataflowRunner", "--dry_run"], False),
])
def test_only_the_default_local_runner_forks(flags, warm):
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines import warm_workers
    from pipelines.config import beam_args

    flags = [*flags, "--direct_num_workers=2"] if not any("num_workers" in f for f in flags) else flags
    runner = warm_workers.local_runner(flags, PipelineOptions(beam_args(flags)))
    assert isinstance(runner, warm_workers.LocalRunner) is warm


def test_a_launcher_running_a_thread_starts_beams_workers(tmp_path):
    """Forking a process with a second Python thread is unsafe: the pool is not started and the
    workers are Beam's `sdk_worker_main` processes, with the same result."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines import warm_workers
    from pipelines.config import beam_args

    flags = ["--direct_num_workers=2"]
    options = PipelineOptions(beam_args(flags))
    runner = warm_workers.local_runner(flags, options)
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait)
    busy.start()
    folder = str(tmp_path)

    def note(x: int) -> int:
        Path(folder, f"{x}.txt").write_text(" ".join(psutil.Process().cmdline()))
        return x * x

    try:
        pipeline = beam.Pipeline(runner=runner, options=options)
        _ = pipeline | beam.Create(range(6)) | beam.Reshuffle() | beam.Map(note)
        with warm_workers.forked(runner) as pool:
            pipeline.run().wait_until_finish()
            assert pool.address is None
    finally:
        stop.set()
        busy.join()
    commands = {p.read_text() for p in tmp_path.glob("*.txt")}
    assert len(list(tmp_path.glob("*.txt"))) == 6
    assert all("sdk_worker_main" in c for c in commands), commands
