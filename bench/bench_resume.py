"""What a resumed M3W run costs: the scale benchmark's generated input, a full run, then a run
killed once ~75% of its input stores have finished their shard pass, rerun with the same command.

    python bench/bench_resume.py                 # 4k pages in 8 WARC files
    python bench/bench_resume.py --pages 16000 --files 16

Prints the CPU seconds (process tree) of the full run and of the rerun, the rerun's share of a full
run, and whether the resumed output's shards equal the full run's byte for byte.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scale  # noqa: E402 - the same generator as make bench-scale

ROOT = bench_scale.ROOT


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def job(inputs: Path, mirror: Path, output: Path) -> list[str]:
    return [sys.executable, "-m", "pipelines.m3w", "--input", str(inputs / "*.warc.gz"), "--mirror_dir", str(mirror),
            "--output", str(output), f"--direct_num_workers={bench_scale.WORKERS}", *bench_scale.JOB_FLAGS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cost of resuming a killed M3W run")
    parser.add_argument("--pages", type=int, default=4000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--kill_at", type=float, default=0.75, help="share of stores with a finished shard pass")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="m3w-resume-"))
    try:
        bench_scale.PAGES_PER_FILE = -(-args.pages // args.files)
        pages, pool = bench_scale.real_pages(), bench_scale.photo_pool()
        inputs, mirror, n_files = bench_scale.write_input(args.pages, work / "in", pages, pool)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        started = children_cpu()
        subprocess.run(job(inputs, mirror, work / "full"), cwd=ROOT, env=env, check=True, capture_output=True)
        full = children_cpu() - started
        killed = work / "killed"
        proc = subprocess.Popen(job(inputs, mirror, killed), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        target = max(1, int(args.kill_at * n_files))
        while proc.poll() is None and len(list((killed / "_work" / "shards").glob("*.done"))) < target:
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        finished = len(list((killed / "_work" / "shards").glob("*.done")))
        started = children_cpu()
        subprocess.run(job(inputs, mirror, killed), cwd=ROOT, env=env, check=True, capture_output=True)
        rerun = children_cpu() - started
        tars = sorted(p.name for p in (work / "full").glob("*.tar"))
        same = tars == sorted(p.name for p in killed.glob("*.tar")) and all(
            (work / "full" / t).read_bytes() == (killed / t).read_bytes() for t in tars)
        print(f"{args.pages} pages in {n_files} files: full run {full:.0f} CPU-s; killed with {finished}/{n_files} "
              f"stores' shards done; rerun {rerun:.0f} CPU-s = {rerun / full:.0%} of a full run; "
              f"{len(tars)} shards byte-identical to the full run: {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
