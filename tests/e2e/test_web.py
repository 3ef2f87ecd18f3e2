"""The files the binary serves (JS client, types, demo page) and GET /rooms/R/history."""
import hashlib
import json
import re
import socket
from pathlib import Path

from rcutil import HOST, REPO_ROOT, http, post_message

WEB = Path(REPO_ROOT) / "web"
FILES = {
    "/roomcast.js": ("roomcast.js", "text/javascript; charset=utf-8"),
    "/roomcast.d.ts": ("roomcast.d.ts", "text/plain; charset=utf-8"),
    "/": ("index.html", "text/html; charset=utf-8"),
}


def test_static_files_are_the_built_web_files(server):
    for path, (name, ctype) in FILES.items():
        st, h, body = http("GET", server.url(path))
        assert st == 200, path
        assert h["content-type"] == ctype
        assert body == (WEB / name).read_bytes(), f"{path} is not web/{name} (rebuild?)"
        assert h["etag"] == '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        assert h["cache-control"] == "no-cache"
        assert h["access-control-allow-origin"] == "*"  # module scripts load with CORS
    st, _h, body = http("GET", server.url("/index.html"))
    assert st == 200 and body == (WEB / "index.html").read_bytes()


def test_etag_gives_304_and_head_has_no_body(server):
    _st, h, _b = http("GET", server.url("/roomcast.js"))
    etag = h["etag"]
    st, h2, body = http("GET", server.url("/roomcast.js"), headers={"If-None-Match": f'"x", {etag}'})
    assert st == 304 and body == b"" and h2["etag"] == etag
    st, _h, _b = http("GET", server.url("/roomcast.js"), headers={"If-None-Match": '"other"'})
    assert st == 200
    # HEAD, then a pipelined GET on the same connection: the HEAD answer has the real length but
    # no body, so the next bytes are the next answer.
    with socket.create_connection((HOST, server.port), timeout=5) as s:
        s.sendall(b"HEAD /roomcast.js HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        buf = b""
        while chunk := s.recv(65536):
            buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    assert length == len((WEB / "roomcast.js").read_bytes())
    assert rest.startswith(b"HTTP/1.1 200") and rest.endswith(b'{"status":"ok"}'), rest[:200]


def test_unknown_paths_and_methods(server):
    st, _h, body = http("GET", server.url("/nothing.js"))
    assert st == 404 and json.loads(body)["error"] == "not_found"
    st, _h, body = http("POST", server.url("/roomcast.js"), body=b"x")
    assert st == 405


def test_no_demo_hides_the_page_only(roomcast):
    srv = roomcast("--no-demo")
    assert http("GET", srv.url("/"))[0] == 404
    assert http("GET", srv.url("/index.html"))[0] == 404
    assert http("GET", srv.url("/roomcast.js"))[0] == 200


def test_history_pages(roomcast):
    srv = roomcast("--history", "30", "--max-history-request", "10")
    for i in range(1, 41):
        st, _h, _b = post_message(srv, "hist", "bob", {"text": f"m{i}", "cid": f"c{i}"})
        assert st == 200
    st, _h, body = http("GET", srv.url("/rooms/hist/history?after=0&limit=5"))
    page = json.loads(body)
    assert st == 200
    assert page["messages"][0] == {"type": "gap", "room": "hist", "from": 1, "to": 10}
    assert [m["seq"] for m in page["messages"][1:]] == [11, 12, 13, 14, 15]
    assert page["more"] is True and page["seq"] == 40 and page["epoch"]
    st, _h, body = http("GET", srv.url("/rooms/hist/history?after=35&limit=10"))
    page = json.loads(body)
    assert [m["seq"] for m in page["messages"]] == [36, 37, 38, 39, 40]
    assert page["more"] is False
    st, _h, body = http("GET", srv.url("/rooms/hist/history?after=40"))
    assert json.loads(body)["messages"] == [] and json.loads(body)["more"] is False
    # A room nobody created: empty, and no epoch (and the request does not create it).
    st, _h, body = http("GET", srv.url("/rooms/never/history"))
    assert st == 200 and json.loads(body) == {"messages": [], "more": False, "seq": 0}


def test_history_errors(server):
    for q, word in [("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit"),
                    ("after=-1", "after"), ("after=1e3", "after")]:
        st, _h, body = http("GET", server.url(f"/rooms/r1/history?{q}"))
        err = json.loads(body)
        assert st == 400 and err["error"] == "bad_request" and word in err["message"], q
    st, _h, body = http("GET", server.url("/rooms/bad%20room/history"))
    assert st == 400
    st, _h, _b = http("POST", server.url("/rooms/r1/history"), body=b"{}")
    assert st == 405
