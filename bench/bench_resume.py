"""What a resumed M3W run costs: the scale benchmark's generated input, a full run, then a run
killed once its process tree has used ~80% of the full run's CPU, rerun with the same command.

    python bench/bench_resume.py                 # 4k pages in 4 WARC files (the scale benchmark's layout)
    python bench/bench_resume.py --pages 16000   # 16 WARC files of 1,000 pages

Prints the CPU seconds (process tree) of the full run and of the rerun, the rerun's share of a full
run, which store passes the killed run had finished, the peak RSS of the full run's launcher and
workers, and whether the resumed output's shards equal the full run's byte for byte. The kill point
is a share of CPU, not of wall time or of finished stores, so a loaded machine moves it little.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scale  # noqa: E402 - the same generator and sampling as make bench-scale

ROOT = bench_scale.ROOT
PASSES = ("documents", "media", "shards")


def job(inputs: Path, mirror: Path, output: Path) -> list[str]:
    return [sys.executable, bench_scale.__file__, "--_job", "--input", str(inputs / "*.warc.gz"), "--mirror_dir",
            str(mirror), "--output", str(output), f"--direct_num_workers={bench_scale.WORKERS}", *bench_scale.JOB_FLAGS]


def tree_cpu(root: psutil.Process) -> float:
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def killed_run(cmd: list[str], output: Path, cpu_limit: float) -> float:
    """Run `cmd` and kill its whole process group once its tree has used `cpu_limit` CPU seconds;
    returns the CPU seconds it had used."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_GCE_CHECK": "True"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    root, used = psutil.Process(proc.pid), 0.0
    while proc.poll() is None:
        try:
            used = max(used, tree_cpu(root))
        except psutil.Error:
            break
        if used >= cpu_limit:
            break
        time.sleep(bench_scale.SAMPLE_S)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return used


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cost of resuming a killed M3W run")
    parser.add_argument("--pages", type=int, default=4000)
    parser.add_argument("--files", type=int, default=0, help="WARC files (default: the scale benchmark's layout, "
                                                              f"{bench_scale.PAGES_PER_FILE} pages each)")
    parser.add_argument("--kill_at", type=float, default=0.8, help="share of the full run's CPU the killed run uses")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="m3w-resume-"))
    try:
        if args.files:
            bench_scale.PAGES_PER_FILE = -(-args.pages // args.files)
        pages, pool = bench_scale.real_pages(), bench_scale.photo_pool()
        inputs, mirror, n_files = bench_scale.write_input(args.pages, work / "in", pages, pool)
        _, peaks, full, full_wall = bench_scale.measured(job(inputs, mirror, work / "full"), work / "full.log")
        print(f"{args.pages} pages in {n_files} files: full run {full:.0f} CPU-s, {full_wall:.0f} s wall; peak RSS "
              f"launcher {bench_scale.gib(peaks.launcher)} GiB, workers "
              f"{' / '.join(bench_scale.gib(w) for w in sorted(peaks.workers.values(), reverse=True))} GiB, "
              f"total {bench_scale.gib(peaks.total)} GiB (summed PSS, shared pages once: "
              f"{bench_scale.gib(peaks.total_pss)} GiB)", flush=True)
        killed = work / "killed"
        used = killed_run(job(inputs, mirror, killed), killed, args.kill_at * full)
        finished = {name: len(list((killed / "_work" / name).glob("*.done"))) for name in PASSES}
        print(f"killed at {used:.0f} CPU-s = {used / full:.0%} of a full run; store passes finished: "
              + ", ".join(f"{name} {n}/{n_files}" for name, n in finished.items()), flush=True)
        _, _, rerun, rerun_wall = bench_scale.measured(job(inputs, mirror, killed), work / "rerun.log")
        tars = sorted(p.name for p in (work / "full").glob("*.tar"))
        same = tars == sorted(p.name for p in killed.glob("*.tar")) and all(
            (work / "full" / t).read_bytes() == (killed / t).read_bytes() for t in tars)
        print(f"rerun {rerun:.0f} CPU-s, {rerun_wall:.0f} s wall = {rerun / full:.0%} of a full run (killed run "
              f"+ rerun: {(used + rerun) / full:.0%}); {len(tars)} shards byte-identical to the full run: {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
