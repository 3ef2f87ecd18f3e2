"""Fixtures for the roomcast end-to-end tests (run with /usr/bin/python3 -m pytest tests/e2e)."""
import os
import resource
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from rcutil import Server, binary_path  # noqa: E402

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def pytest_configure(config):
    # Many sockets per test (client and server side): raise the soft fd limit (inherited).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(8192, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def _tail(text: str, lines: int = 200) -> str:
    parts = text.splitlines()
    head = f"[... {len(parts) - lines} earlier lines ...]\n" if len(parts) > lines else ""
    return head + "\n".join(parts[-lines:])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in getattr(item, "_roomcast_servers", []):
            rep.sections.append((f"roomcast server log ({srv.log_path})", _tail(srv.log_text())))


@pytest.fixture
def roomcast(request, tmp_path):
    """Factory: roomcast("--history", "50") starts a server on a free 127.0.0.1 port and waits
    for /healthz. On teardown each one gets SIGTERM (that PID only) and must exit 0; a server
    that died during the test, or a sanitizer report in its log, fails the test."""
    servers = []
    request.node._roomcast_servers = servers

    def start(*args, shards=2, env=None, rate_limit_off=True):
        srv = Server(binary_path(), [str(a) for a in args],
                     tmp_path / f"roomcast-{len(servers)}.log", shards=shards, env=env,
                     rate_limit_off=rate_limit_off)
        servers.append(srv)
        return srv.start()

    yield start

    problems = []
    for srv in servers:
        if srv.proc is None:
            continue
        died_on_its_own = srv.proc.poll() is not None and srv.returncode is None
        rc = srv.stop()
        if died_on_its_own:
            problems.append(f"server pid {srv.proc.pid} exited by itself during the test "
                            f"(code {srv.proc.returncode})")
        elif rc is None:
            problems.append(f"server pid {srv.proc.pid} ignored SIGTERM for 10 s (killed)")
        elif rc != 0:
            problems.append(f"server pid {srv.proc.pid} exited with {rc} after SIGTERM")
        log = srv.log_text()
        if any(m in log for m in SANITIZER_MARKERS):
            problems.append(f"sanitizer report in {srv.log_path}")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


@pytest.fixture
def server(roomcast):
    """A server with the default options (2 shards)."""
    return roomcast()
