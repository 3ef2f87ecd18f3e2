// Fakes for the client's unit tests: a scripted WebSocket class and fetch, recording what the
// client asks for. A test plays the server: it answers WebSocket opens and HTTP requests.

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

export async function until(cond, ms = 3000, what = 'condition') {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(5);
  }
}

// A fake "server": sockets opened by the client, HTTP requests it made (answered by handlers).
export function fakeNet() {
  const net = { sockets: [], requests: [], handlers: [] };
  class FakeWebSocket {
    constructor(url) {
      this.url = new URL(url);
      this.sent = [];
      this.readyState = 0;
      net.sockets.push(this);
      if (net.refuseWs) queueMicrotask(() => this.serverClose());
      else queueMicrotask(() => { this.readyState = 1; this.onopen?.({}); });
    }
    send(s) { this.sent.push(JSON.parse(s)); }
    close() { this.readyState = 3; }
    // test side
    push(o) { this.onmessage?.({ data: JSON.stringify(o) }); }
    serverClose() { this.readyState = 3; this.onclose?.({ code: 1006 }); }
    ops(op) { return this.sent.filter((o) => o.op === op); }
  }
  net.WebSocket = FakeWebSocket;
  // handler(url, init) -> {status, body} | Promise of one | undefined (next handler)
  net.on = (fn) => net.handlers.push(fn);
  net.fetch = async (u, init = {}) => {
    const url = new URL(u);
    const req = { url, init, body: init.body ? JSON.parse(init.body) : undefined };
    net.requests.push(req);
    for (const h of net.handlers) {
      const r = await h(req);
      if (r) {
        if (r.error) throw new Error(r.error);
        return {
          ok: r.status >= 200 && r.status < 300,
          status: r.status,
          json: async () => r.body,
          body: r.stream,
        };
      }
    }
    throw new Error(`no fake answer for ${url.pathname}`);
  };
  net.last = () => net.sockets[net.sockets.length - 1];
  return net;
}

export function msg(seq, extra = {}) {
  return { type: 'msg', room: 'r', seq, id: `id-${seq}`, user: 'u', text: `t${seq}`, ts: 1, ...extra };
}

export const welcome = (seq, epoch = 'e1') =>
  ({ type: 'welcome', room: 'r', epoch, seq, online: 1, modes: {}, user: 'u' });
