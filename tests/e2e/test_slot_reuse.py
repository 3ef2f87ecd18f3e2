"""A fixed-file slot is never given to a new connection while an operation that names it is
still with the kernel (issue 15, fault 1). A `Connection: close` answer ends with a SHUTDOWN of
the write side; a client that reads the answer by its Content-Length and closes at once sends its
FIN before that SHUTDOWN has run. The server used to close the slot right then, accept reused
it, and the late SHUTDOWN hit the next client's socket: that client saw a FIN and no bytes."""
import asyncio
import time

from rcutil import HOST, run

CLIENTS = 200
REQUESTS = 40000
BUDGET_S = 60.0


async def one_request(port: int, path: str, half_close: bool) -> bytes:
    """One `Connection: close` GET; reads the head and Content-Length bytes, then closes without
    waiting for the server's FIN (as urllib does). With half_close the request is followed by our
    FIN at once, so the server sees the end of the stream before its answer is even sent.
    Returns what arrived (b"" = nothing at all)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        if half_close:
            writer.write_eof()
        await writer.drain()
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = await asyncio.wait_for(reader.read(4096), 10)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = await asyncio.wait_for(reader.read(4096), 10)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body
    finally:
        writer.close()  # at once: our FIN races the server's SHUTDOWN(SHUT_WR)


def test_no_connection_is_closed_by_a_shutdown_meant_for_its_slots_previous_owner(roomcast):
    srv = roomcast(shards=1)
    counts = {"done": 0, "empty": 0, "short": 0, "errors": 0}
    examples: list[str] = []

    async def worker(index: int, deadline: float):
        while counts["done"] < REQUESTS and time.monotonic() < deadline:
            counts["done"] += 1
            try:
                got = await one_request(srv.port, "/healthz", half_close=index % 2 == 0)
            except (OSError, asyncio.TimeoutError) as e:
                counts["errors"] += 1
                if len(examples) < 5:
                    examples.append(repr(e))
                continue
            if not got:
                counts["empty"] += 1
            elif not got.startswith(b"HTTP/1.1 200") or not got.endswith(b'{"status":"ok"}'):
                counts["short"] += 1
                if len(examples) < 5:
                    examples.append(repr(got[:200]))

    async def main():
        deadline = time.monotonic() + BUDGET_S
        await asyncio.gather(*(worker(i, deadline) for i in range(CLIENTS)))

    run(main(), BUDGET_S + 30)
    assert counts["done"] >= 5000, counts  # enough churn to reuse every slot many times
    assert counts["empty"] == 0 and counts["short"] == 0 and counts["errors"] == 0, (
        counts, examples)
