"""systemd's notification protocol, spoken to a datagram socket the test owns (NOTIFY_SOCKET):
READY after the listeners are up and the log replayed, WATCHDOG while every shard turns (a
stuck shard stops them), STOPPING at SIGTERM; and the drain's notice step (/readyz 503 while the
listener still answers)."""
import asyncio
import os
import socket
import time

import pytest

from rcutil import http, join, recv_next, run


class NotifySocket:
    """A bound AF_UNIX datagram socket collecting (monotonic time, message) pairs."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.05)
        self.messages = []

    def env(self, watchdog_usec=None):
        env = dict(os.environ, NOTIFY_SOCKET=self.path)
        env.pop("WATCHDOG_PID", None)
        env.pop("WATCHDOG_USEC", None)
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        return env

    def collect(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            self.messages.append((time.monotonic(), data.decode()))
        return self.messages

    def wait_for(self, prefix, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(m.startswith(prefix) for _t, m in self.messages):
                return True
            self.collect(0.1)
        return False

    def kinds(self):
        return [m.split("\n")[0].split("=")[0] for _t, m in self.messages]

    def close(self):
        self.sock.close()


@pytest.fixture
def notify(tmp_path):
    ns = NotifySocket(tmp_path / "notify.sock")
    yield ns
    ns.close()


def test_ready_watchdog_stopping_in_order(roomcast, notify, tmp_path):
    (tmp_path / "data").mkdir()
    server = roomcast("--data-dir", tmp_path / "data", env=notify.env(watchdog_usec=600_000))
    assert notify.wait_for("READY=1", 5), f"no READY=1: {notify.messages}"
    notify.collect(1.0)
    server.sigterm()
    assert server.wait(10) == 0
    notify.collect(0.3)
    kinds = notify.kinds()
    # The replay asks for more start-up time before READY (it may be long on a big log).
    assert kinds[0] == "EXTEND_TIMEOUT_USEC", kinds
    ready = kinds.index("READY")
    stopping = kinds.index("STOPPING")
    assert ready < stopping, kinds
    pings = [i for i, k in enumerate(kinds) if k == "WATCHDOG"]
    assert len([i for i in pings if ready < i < stopping]) >= 3, kinds  # every ~200 ms
    assert all(i > ready for i in pings), f"a watchdog ping before READY: {kinds}"
    ready_msg = notify.messages[ready][1]
    assert f"MAINPID={server.proc.pid}" in ready_msg, ready_msg


def test_no_watchdog_pings_without_watchdog_usec(roomcast, notify):
    server = roomcast(env=notify.env())
    assert notify.wait_for("READY=1", 5)
    notify.collect(1.0)
    assert "WATCHDOG" not in notify.kinds(), notify.kinds()
    server.sigterm()
    assert server.wait(10) == 0


def test_a_stuck_shard_stops_the_watchdog(roomcast, notify):
    # One shard, so that the stall request lands on it; WatchdogSec=1 s: pings every ~333 ms, a
    # shard is stuck after 2.5 s without a loop turn (watchdog.h).
    server = roomcast("--debug-stall", shards=1, env=notify.env(watchdog_usec=1_000_000))
    assert notify.wait_for("READY=1", 5)
    notify.collect(1.0)

    async def stall():
        r, w = await asyncio.open_connection("127.0.0.1", server.port)
        w.write(b"POST /debug/stall?secs=5 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        await w.drain()
        return r, w
    loop = asyncio.new_event_loop()
    try:
        r, w = loop.run_until_complete(stall())
        t_stall = time.monotonic()
        notify.collect(7.0)
        w.close()
    finally:
        loop.close()
    pings = [t for t, m in notify.messages if m == "WATCHDOG=1" and t > t_stall]
    gaps = [b - a for a, b in zip([t_stall] + pings, pings)]
    assert gaps and max(gaps) >= 2.0, f"pings went on during a 5 s stall: gaps {gaps}"
    assert pings and pings[-1] > t_stall + 5.0, "pings did not resume after the stall"
    log = server.log_text()
    assert "has not turned" in log and "pings resume" in log, log[-2000:]


def test_debug_stall_is_off_without_its_flag(server):
    st, _h, _b = http("POST", server.url("/debug/stall?secs=1"), b"")
    assert st == 404


def test_drain_notice_readyz_503_while_the_listener_answers(roomcast, notify):
    server = roomcast("--drain-notice-secs", 2, env=notify.env())
    assert notify.wait_for("READY=1", 5)

    async def scenario():
        ws, _w = await join(server, "notice-room", user="v")
        t0 = time.monotonic()
        server.sigterm()
        assert await asyncio.to_thread(notify.wait_for, "STOPPING=1", 2)
        # The notice: /readyz is 503 "draining", a new connection is still served.
        st, _h, body = await asyncio.to_thread(http, "GET", server.url("/readyz"))
        assert st == 503 and b"draining" in body, (st, body)
        st, _h, _b = await asyncio.to_thread(http, "GET", server.url("/healthz"))
        assert st == 200
        ws2, _w2 = await join(server, "notice-room", user="late")
        # Then the viewers get bye, no sooner than the notice.
        bye = await recv_next(ws, 6)
        assert bye["type"] == "bye", bye
        assert time.monotonic() - t0 >= 1.8, "bye before the notice was over"
        bye2 = await recv_next(ws2, 2)
        assert bye2["type"] == "bye", bye2
    run(scenario(), 30)
    assert server.wait(10) == 0


def test_second_sigterm_cuts_the_notice_short(roomcast):
    server = roomcast("--drain-notice-secs", 60)
    t0 = time.monotonic()
    server.sigterm()
    time.sleep(0.3)
    st, _h, _b = http("GET", server.url("/readyz"))
    assert st == 503
    server.sigterm()
    assert server.wait(10) == 0
    assert time.monotonic() - t0 < 10
