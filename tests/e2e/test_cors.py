"""CORS (docs/protocol.md, "CORS"): preflight OPTIONS, Access-Control-Allow-Origin on answers
of every endpoint, the --cors-origins list (echo + Vary: Origin), refusal, CORS off."""
import json

from httputil import SSEStream, room_path
from rcutil import curl, http, raw_http

ROOM = "cors-room"
ACAO = "access-control-allow-origin"


def preflight(server, origin, path=None, method="POST", req_headers="content-type"):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if req_headers:
        h["Access-Control-Request-Headers"] = req_headers
    return http("OPTIONS", server.url(path or room_path(ROOM, "messages")), headers=h)


def tokens(value: str) -> set[str]:
    return {t.strip().lower() for t in value.split(",") if t.strip()}


def check_preflight_ok(status, headers, body, want_origin):
    assert status == 204, f"preflight: {status} {body!r}"
    assert headers.get(ACAO) == want_origin, headers
    assert {"get", "post", "options"} <= tokens(headers.get("access-control-allow-methods", "")), \
        headers
    assert {"authorization", "content-type", "last-event-id"} <= tokens(
        headers.get("access-control-allow-headers", "")), headers
    assert headers.get("access-control-max-age") == "600", headers


def cors_get(server, path, origin):
    status, headers, body = http("GET", server.url(path), headers={"Origin": origin})
    return status, headers, body


def sse_head(server, origin):
    with SSEStream(server.port, room_path(ROOM, "events"), {"Origin": origin}) as s:
        assert s.status == 200, s.body_prefix
        return s.headers


def test_default_star(roomcast):
    server = roomcast("--poll-hold-ms", 1000)
    origin = "https://anywhere.example"
    # Preflight with curl, as a quick manual check would.
    r = curl("-i", "-X", "OPTIONS", "-H", f"Origin: {origin}",
             "-H", "Access-Control-Request-Method: POST",
             "-H", "Access-Control-Request-Headers: content-type,last-event-id",
             server.url(room_path(ROOM, "messages")), timeout=5)
    assert r.returncode == 0, r.stderr
    # curl() reads text, so CRLF arrives as LF.
    head = r.stdout.replace("\r\n", "\n").split("\n\n")[0].split("\n")
    assert head[0].split()[1] == "204", head
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in head[1:])}
    check_preflight_ok(204, hdrs, b"", "*")

    for path in (room_path(ROOM, "events"), room_path(ROOM, "messages")):
        check_preflight_ok(*preflight(server, origin, path, "GET", "last-event-id"), "*")

    for path, want in ((room_path(ROOM, "messages"), 200), ("/healthz", 200), ("/nope", 404)):
        status, headers, body = cors_get(server, path, origin)
        assert status == want, (path, status, body)
        assert headers.get(ACAO) == "*", (path, headers)
    # With "*" the header goes on every answer, with or without an Origin.
    st, headers, body = http("GET", server.url(room_path(ROOM, "messages")))
    assert st == 200 and headers.get(ACAO) == "*", (st, headers, body)
    st, headers, body = http("POST", server.url(room_path(ROOM, "messages", user="u")),
                             json.dumps({"text": "hi", "cid": "c1"}),
                             {"Origin": origin, "Content-Type": "application/json"})
    assert st == 200 and headers.get(ACAO) == "*", (st, headers, body)
    assert sse_head(server, origin).get(ACAO) == "*"


def test_allowed_list_echoes_origin_with_vary(roomcast):
    server = roomcast("--cors-origins", "https://a.example,https://b.example",
                      "--poll-hold-ms", 1000)
    for origin in ("https://a.example", "https://b.example"):
        status, headers, body = preflight(server, origin)
        check_preflight_ok(status, headers, body, origin)
        assert "origin" in tokens(headers.get("vary", "")), headers
        for path in (room_path(ROOM, "messages"), "/healthz"):
            status, headers, body = cors_get(server, path, origin)
            assert status == 200, body
            assert headers.get(ACAO) == origin, (path, headers)
            assert "origin" in tokens(headers.get("vary", "")), (path, headers)
        h = sse_head(server, origin)
        assert h.get(ACAO) == origin and "origin" in tokens(h.get("vary", "")), h


def test_disallowed_origin(roomcast):
    server = roomcast("--cors-origins", "https://a.example", "--poll-hold-ms", 1000)
    for origin in ("https://evil.example", "https://a.example.evil.example", "http://a.example",
                   "https://a.example:8443", "null", "https://b.example"):
        status, headers, body = preflight(server, origin)
        assert status == 403, f"preflight from {origin}: {status} {body!r}"
        assert json.loads(body).get("error") == "forbidden", (origin, body)
        assert ACAO not in headers, (origin, headers)
        # The request itself is answered (the browser hides it), without the CORS header.
        for path in (room_path(ROOM, "messages"), "/healthz"):
            status, headers, body = cors_get(server, path, origin)
            assert status == 200, (origin, path, status, body)
            assert ACAO not in headers, (origin, path, headers)
        assert ACAO not in sse_head(server, origin), origin
    # The allowed one still works on the same server.
    status, headers, _b = cors_get(server, "/healthz", "https://a.example")
    assert headers.get(ACAO) == "https://a.example", headers


def test_a_restricted_list_refuses_state_changes_from_other_origins(roomcast):
    """WebSocket has no CORS and a text/plain POST needs no preflight, so the origin check for
    them is the server's (issue 15, fault 10): with a restricted list, an upgrade or a send from
    another origin is refused with 403 forbidden; the allowed origin, the server's own origin
    (the demo page) and clients that send no Origin (not browsers) go through."""
    server = roomcast("--cors-origins", "https://a.example")
    own = f"http://127.0.0.1:{server.port}"
    up = ("GET /ws?room={room} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n{origin}\r\n")
    for origin, want in (("https://evil.example", 403), ("https://a.example", 101), (own, 101),
                         (None, 101)):
        hdr = f"Origin: {origin}\r\n" if origin else ""
        st, _h, body = raw_http(server.port, up.format(room=ROOM, port=server.port,
                                                       origin=hdr).encode())
        assert st == want, (origin, st, body)
        if want == 403:
            assert json.loads(body)["error"] == "forbidden", body
        st, _h, body = http("POST", server.url(room_path(ROOM, "messages") + "?user=u"),
                            json.dumps({"text": "hi"}),
                            {"Content-Type": "text/plain", **({"Origin": origin} if origin else {}),
                             "Host": f"127.0.0.1:{server.port}"})
        assert st == (403 if want == 403 else 200), (origin, st, body)


def test_cors_off(roomcast):
    server = roomcast("--cors-origins", "", "--poll-hold-ms", 1000)
    for path in (room_path(ROOM, "messages"), "/healthz"):
        status, headers, body = cors_get(server, path, "https://a.example")
        assert status == 200, body
        assert ACAO not in headers, (path, headers)
    status, headers, body = preflight(server, "https://a.example")
    assert ACAO not in headers, (status, headers, body)
