"""SIGTERM: every viewer gets {"type":"bye","reconnect_ms":N}, then a close; exit 0 within 5 s."""
import asyncio
import time

import websockets

from rcutil import close_all, is_int, join, recv_next, run

VIEWERS = 50


def test_sigterm_with_50_viewers(roomcast):
    server = roomcast()

    async def scenario():
        rooms = ["bye-a", "bye-b"]
        sem = asyncio.Semaphore(25)

        async def connect(i):
            async with sem:
                return await join(server, rooms[i % 2], user=f"v{i}")
        conns = await asyncio.wait_for(asyncio.gather(*(connect(i) for i in range(VIEWERS))), 30)
        sockets = [ws for ws, _w in conns]

        async def until_bye(ws):
            bye = await recv_next(ws, 5)
            assert bye.get("type") == "bye", f"expected bye, got {bye}"
            assert is_int(bye.get("reconnect_ms")) and bye["reconnect_ms"] >= 0, bye
            try:
                extra = await recv_next(ws, 5)
            except websockets.exceptions.ConnectionClosed as e:
                assert e.rcvd is not None, f"TCP closed without a close frame after bye: {e}"
                assert e.rcvd.code == 1001, f"close code after bye: {e.rcvd.code}, want 1001"
                return
            raise AssertionError(f"frame after bye: {extra}")

        try:
            t0 = time.monotonic()
            server.sigterm()
            results = await asyncio.wait_for(
                asyncio.gather(*(until_bye(ws) for ws in sockets), return_exceptions=True), 10)
            failures = [r for r in results if isinstance(r, BaseException)]
            assert not failures, f"{len(failures)}/{VIEWERS} viewers: first: {failures[0]!r}"
            rc = await asyncio.to_thread(server.wait, max(0.1, 5 - (time.monotonic() - t0)))
            assert rc == 0, f"exit code {rc}"
            assert time.monotonic() - t0 <= 5.0
        finally:
            await close_all(sockets)
    run(scenario(), 60)


def test_sigterm_idle_exits_0_fast(roomcast):
    server = roomcast()
    t0 = time.monotonic()
    server.sigterm()
    assert server.wait(5) == 0
    assert time.monotonic() - t0 <= 5.0
