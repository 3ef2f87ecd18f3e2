"""Replies are bounded too (issue 15, fault 7): pongs, acks and errors are never dropped, so a
client that keeps asking without reading used to grow its send queue without limit (4M pings took
1 GiB). A reply that would take the queue past --max-queue-bytes closes that client instead, and
the others are not affected."""
import asyncio
import socket
import time
from pathlib import Path

from metricsutil import fetch_metrics, metric_sum
from rcutil import HOST, OP_PING, RawWS, client_frame, join, run, send_and_ack

ROOM = "ping-flood"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_ping_flood_that_reads_nothing_is_closed_and_memory_stays_bounded(roomcast):
    server = roomcast("--max-queue-bytes", 65536, shards=1)

    async def scenario():
        other, _w = await join(server, ROOM, user="bystander")
        flood, _h = await RawWS.connect(server.port, f"/ws?room={ROOM}&user=flood", rcvbuf=4096)
        before = rss_kib(server.proc.pid)
        frame = client_frame(OP_PING, b"p" * 125)
        closed = False
        sent = 0
        deadline = time.monotonic() + 20
        while sent < 40000 and time.monotonic() < deadline:
            try:
                flood.writer.write(frame * 100)
                await asyncio.wait_for(flood.writer.drain(), 2)
            except (ConnectionError, asyncio.TimeoutError, OSError):
                closed = True
                break
            sent += 100
            if flood.writer.transport.is_closing():
                closed = True
                break
        grown = rss_kib(server.proc.pid) - before
        flood.abort()
        m = fetch_metrics(server)[2]
        assert metric_sum(m, "roomcast_slow_closes_total") >= 1, (sent, closed)
        assert grown < 16 * 1024, f"RSS grew {grown} KiB under {sent} unread pings"
        # The bystander still chats.
        await send_and_ack(other, ROOM, "bystander", "still here", "b-1")
        await other.close()

    run(scenario(), 60)
