"""Local FnApiRunner workers forked warm from the launcher instead of started as fresh interpreters.

With `--direct_running_mode=multi_processing` Beam starts each worker as `python -m
apache_beam.runners.worker.sdk_worker_main`, which imports Beam and then the job's library again
(~1.5 CPU-s a worker, the fixed cost that made a 1k-page run dearer per page than a 64k one). The
launcher has imported all of it by the time the graph is built, so `WarmWorkers` forks one
single-threaded *pool* process from it then, before progress reporting or the runner's gRPC servers
start a thread (forking a threaded process is unsafe). The pool imports what only workers use
(`PRELOAD`) and forks one worker per request of `ForkedWorkerHandler`, Beam's worker handler for
`URN`; each worker only connects to the runner's control endpoint. `LocalRunner` points the
runner's own subprocess environment at the pool, so the graph, its environment and every worker's
options are the ones Beam's multi-processing mode makes.

Lifetimes: a worker lives as long as its request's connection (the handler's thread waits on it
for the exit status, as Beam's subprocess handler waits on the process, so a worker that dies
fails the job the same way); the pool as long as the launcher keeps its end of a pipe open, and it
kills its workers before it exits (end of job, an error, Ctrl-C, or the launcher killed). Only
the default local runner uses it, on Linux, and only when the user chose neither
`--direct_running_mode` nor `--environment_type`; anywhere fork is unavailable, or when the
launcher already runs a second thread, the workers start as Beam starts them.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import traceback
from contextlib import nullcontext
from multiprocessing.connection import Connection, wait
from typing import Self

from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    StandardOptions,
)
from apache_beam.portability import python_urns
from apache_beam.runners.portability.fn_api_runner import worker_handlers
from apache_beam.runners.portability.fn_api_runner.fn_runner import FnApiRunner
from google.protobuf import json_format, text_format

URN = "m3w:env:forked_sdk_worker:v1"
# The worker command line Beam's multi-processing mode sets: the environment the pool replaces.
SUBPROCESS_COMMAND = f"{sys.executable} -m apache_beam.runners.worker.sdk_worker_main"
# What workers import that the launcher has not (media decoders load lazily, in workers only).
PRELOAD = ("apache_beam.runners.worker.sdk_worker_main", "av", "PIL.Image")
REAP_EVERY_S = 0.1  # how often the pool looks for workers that exited
_LOGGER = logging.getLogger(__name__)


def local_runner(user_flags: list[str], options: PipelineOptions) -> LocalRunner | None:
    """The runner for `options` when the job runs Beam's multi-processing mode only because it is
    our default (`config.beam_args`); None (Beam's choice from the flags) otherwise."""
    names = {flag.split("=", 1)[0] for flag in user_flags if flag.startswith("--")}
    if names & {"--direct_running_mode", "--environment_type"} or not sys.platform.startswith("linux"):
        return None
    if options.view_as(StandardOptions).runner != "FnApiRunner":
        return None
    if options.view_as(DirectOptions).direct_running_mode != "multi_processing":
        return None
    return LocalRunner()


def forked(runner) -> WarmWorkers | nullcontext:
    """The context the run goes in: `runner`'s pool, started on entry, or nothing to start."""
    return runner.pool if isinstance(runner, LocalRunner) else nullcontext()


class LocalRunner(FnApiRunner):
    """The FnApiRunner whose multi-processing workers come from `pool` when it runs."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = WarmWorkers()

    def run_via_runner_api(self, pipeline_proto, options):
        if self.pool.address:
            for environment in pipeline_proto.components.environments.values():
                if (environment.urn == python_urns.SUBPROCESS_SDK
                        and environment.payload == SUBPROCESS_COMMAND.encode()):
                    environment.urn, environment.payload = URN, self.pool.address.encode()
        return super().run_via_runner_api(pipeline_proto, options)


class WarmWorkers:
    """The pool process: `start()` forks it (or leaves `address` None where it cannot), `close()`
    stops it and every worker it forked. A context manager around the run."""

    def __init__(self) -> None:
        self.address: str | None = None
        self.pid = 0
        self._alive = -1

    def start(self) -> bool:
        """Fork the pool now, if this process can fork safely: no Python thread but this one (native
        pools, OpenBLAS's or jemalloc's, are fork-aware; the runner's gRPC threads do not exist yet)."""
        if self.address:
            return True
        if not hasattr(os, "fork") or threading.active_count() > 1:
            _LOGGER.info("workers start as Beam starts them: this process cannot fork safely (%d threads)",
                         threading.active_count())
            return False
        address = f"\0m3w-workers-{os.getpid()}-{secrets.token_hex(8)}"  # Linux abstract socket: no file
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(address)
        listener.listen()
        alive_r, alive_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the pool: never returns into the launcher's code
            code = 1
            try:
                os.close(alive_w)
                _serve(listener, alive_r)
                code = 0
            except BaseException:  # noqa: BLE001 - report, then leave without the launcher's exit handlers
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(alive_r)
        listener.close()
        self.address, self.pid, self._alive = address, pid, alive_w
        return True

    def close(self) -> None:
        """Stop the pool (it kills the workers still running) and wait for it."""
        if not self.pid:
            return
        os.close(self._alive)
        os.waitpid(self.pid, 0)
        self.address, self.pid, self._alive = None, 0, -1

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _serve(listener: socket.socket, alive: int) -> None:
    """The pool's loop: fork a worker per request, send each request its worker's exit status, kill
    a worker whose request was dropped; on the launcher's end of `alive` closing, kill them all."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the launcher, which closes the pool
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    running: dict[int, Connection] = {}  # worker pid → the request it answers to
    dropped: set[int] = set()  # killed, not yet reaped
    try:
        while True:
            requests = {conn: pid for pid, conn in running.items() if pid not in dropped}
            ready = wait([listener, alive, *requests], timeout=REAP_EVERY_S)
            if alive in ready:
                return
            if listener in ready:
                conn = Connection(listener.accept()[0].detach())
                pid = _fork_worker(conn.recv(), [listener.fileno(), alive, conn.fileno(),
                                                 *(c.fileno() for c in running.values())])
                running[pid] = conn
                conn.send(pid)
            for conn in ready:
                if conn in requests:  # the launcher closed the request: its worker must not outlive it
                    os.kill(requests[conn], signal.SIGKILL)
                    dropped.add(requests[conn])
            _reap(running, dropped, block=False)
    finally:
        for pid in running:
            os.kill(pid, signal.SIGKILL)
        _reap(running, dropped, block=True)


def _reap(running: dict[int, Connection], dropped: set[int], block: bool) -> None:
    """Collect exited workers and tell each one's request its exit status."""
    while running:
        pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        if pid == 0:
            return
        conn = running.pop(pid, None)
        dropped.discard(pid)
        if conn is not None:
            try:
                conn.send(os.waitstatus_to_exitcode(status))
            except OSError:  # the launcher is gone or closed the request
                pass
            conn.close()


def _fork_worker(env: dict[str, str], inherited: list[int]) -> int:
    """Fork one SDK worker with the launcher's environment `env`; returns its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        for fd in inherited:
            os.close(fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.environ.clear()
        os.environ.update(env)
        logging.getLogger().handlers.clear()  # as in a fresh worker: it logs to the runner
        from apache_beam.runners.worker import sdk_worker_main

        sdk_worker_main.main([])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - a worker that fails exits non-zero, as Beam's does
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed or broken stream: nothing more to say
                pass
        os._exit(code)


@worker_handlers.WorkerHandler.register_environment(URN, bytes)
class ForkedWorkerHandler(worker_handlers.GrpcWorkerHandler):
    """Beam's worker handler for a worker forked by the pool at `address` (the environment's payload)."""

    def __init__(self, address: bytes, state, provision_info, grpc_server) -> None:
        super().__init__(state, provision_info, grpc_server)
        self._address = address.decode()
        self._request: Connection | None = None
        self._thread: threading.Thread | None = None

    def start_worker(self) -> None:
        env = dict(
            os.environ,
            CONTROL_API_SERVICE_DESCRIPTOR=text_format.MessageToString(self.control_api_service_descriptor()),
            LOGGING_API_SERVICE_DESCRIPTOR=text_format.MessageToString(self.logging_api_service_descriptor()),
            PIPELINE_OPTIONS=json_format.MessageToJson(self.provision_info.provision_info.pipeline_options),
            WORKER_ID=self.worker_id)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self._address)
        self._request = Connection(sock.detach())
        self._request.send(env)
        pid = self._request.recv()
        self._thread = threading.Thread(target=self._wait, args=(pid,), name=f"forked_worker_{pid}")
        self._thread.start()

    def _wait(self, pid: int) -> None:
        """Wait for the worker's exit status. A worker that dies fails what the runner awaits from
        it (Beam's subprocess handler only raises in its own thread, and the job waits forever)."""
        try:
            code = self._request.recv()
        except (EOFError, OSError):
            code = "unknown (its pool stopped)"
        finally:
            self._request.close()
        if code:
            error = RuntimeError(f"Worker process {pid} exited with status {code}")
            self.control_conn.abort(error)
            self.data_conn.close()
            raise error

    def stop_worker(self) -> None:
        if self._thread is not None:
            self._thread.join()
