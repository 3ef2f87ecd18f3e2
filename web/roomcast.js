// roomcast.js: the browser (and Node) client of roomcast. An ES module with no dependencies.
// Transports in order: WebSocket, then SSE (read with fetch) with POST sends, then long-poll. A
// transport counts as working only once the server's first object arrives. Reconnects with
// full-jitter backoff and resumes where it was; delivers each room's events once, in seq order,
// filling holes from GET /rooms/R/history first. Sends carry a cid and are retried until acked
// (the server drops a resent cid). Types: roomcast.d.ts.

const TRANSPORTS = { websocket: 'websocket', ws: 'websocket', sse: 'sse', longpoll: 'longpoll', poll: 'longpoll' };
const SEND_CODES = /^(bad_request|too_large|forbidden|banned|slow_mode|rate_limited|emote_only|duplicate_text|blocked_term|unavailable|unauthorized)$/;
const ROOM_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const DEFAULTS = {
  transports: ['websocket', 'sse', 'longpoll'],
  minDelayMs: 500, maxDelayMs: 20000, // reconnect backoff (full jitter)
  byeSpreadMs: 8000, // after a bye: reconnect_ms plus up to this, so restarts do not stampede
  connectTimeoutMs: 10000, // no first object by then: the transport failed (a silent WebSocket)
  idleMs: 30000, // nothing heard for this long on a working transport: reconnect
  rememberMs: 600000, // how long a fallback is remembered
  probeMs: 60000, // while on a fallback: try WebSocket again this often
  holeWaitMs: 250, // a hole not filled by the stream within this is filled from history
  pageSize: 100, // history page
};

const now = () => Date.now();

// The wait before reconnect attempt n (0-based): full jitter between min and an exponential cap.
export function backoffDelay(n, minMs, maxMs, rnd = Math.random) {
  return minMs + rnd() * Math.min(maxMs - minMs, minMs * 2 ** Math.min(n + 1, 30));
}

// The seq an event occupies: a retraction's own seq is `at` (its `seq` names its target).
export function eventSeq(o) {
  return o.type === 'retract' ? o.at : o.seq;
}

// Server-sent events from chunks of text: calls onEvent(data) per event with data lines.
export function sseParser(onEvent) {
  let rest = '', data = [];
  return (chunk) => {
    rest += chunk;
    let nl;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).replace(/\r$/, '');
      rest = rest.slice(nl + 1);
      if (line === '') {
        if (data.length) onEvent(data.join('\n'));
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line[5] === ' ' ? 6 : 5));
      }
    }
  };
}

class Emitter {
  constructor() { this._h = {}; }
  on(type, fn) { (this._h[type] ||= new Set()).add(fn); return () => this.off(type, fn); }
  off(type, fn) { this._h[type]?.delete(fn); }
  emit(type, v) { for (const fn of [...(this._h[type] || [])]) { try { fn(v); } catch (e) { setTimeout(() => { throw e; }); } } }
}

export class RoomcastError extends Error {
  constructor(code, message, extra) { super(message || code); this.code = code; Object.assign(this, extra); }
}

// One room: its connection, its place in the room's seq order, and its unacked sends.
export class Room extends Emitter {
  constructor(client, name, opts = {}) {
    super();
    if (!ROOM_RE.test(name)) throw new RoomcastError('bad_request', 'room must be 1..64 of [A-Za-z0-9_.:-]');
    this.client = client; this.name = name; this.o = client.o;
    this.epoch = opts.epoch ?? null;
    this.last = opts.since ?? null; // last seq delivered in order (null: not joined yet)
    this.history = opts.history || 0;
    this.buf = new Map(); // seq -> event that came before its turn
    this.ids = new Map(); // de-duplication keys, oldest first
    this.outbox = new Map(); // cid -> {text, prio, resolve, reject, sent}
    this.cursor = null; this.holeTo = 0;
    this.attempt = 0; this.closed = false; this.online = true;
    this.addr = client.addr; // index into client.bases
    this.conn = null; this.transport = null;
    this.timers = {};
    this.state = 'disconnected';
    this._connect(client._start());
  }

  // --- public ---
  send(text, opts = {}) {
    const cid = opts.cid || `c-${Math.random().toString(36).slice(2, 10)}${now().toString(36)}`;
    return new Promise((resolve, reject) => {
      const e = { text, prio: opts.prio, resolve, reject, sent: false };
      this.outbox.set(cid, e);
      if (this.state === 'connected') this._sendOne(cid, e);
    });
  }
  // Reactions go over a working WebSocket only (the protocol has no HTTP reaction): false when
  // this room is on SSE or long-poll, or between connections (the reaction is not kept).
  react(emoji) {
    const ws = this.conn?.working && this.conn.ws;
    if (!ws) return false;
    ws.send(JSON.stringify({ op: 'react', emoji }));
    return true;
  }
  close() {
    this.closed = true;
    this._drop();
    for (const k in this.timers) clearTimeout(this.timers[k]);
    for (const [, e] of this.outbox) e.reject(new RoomcastError('closed', 'the room was closed'));
    this.outbox.clear();
    this.client.rooms.delete(this);
    this._state('disconnected');
  }

  // --- connection ---
  _state(s) {
    if (this.state === s && this.shownT === this.transport) return;
    this.state = s; this.shownT = this.transport;
    const v = { state: s, transport: this.transport, room: this.name };
    this.emit('connection', v);
    this.client.emit('state', v);
  }
  _timer(k, ms, fn) { clearTimeout(this.timers[k]); this.timers[k] = ms == null ? null : setTimeout(fn, ms); }
  _drop() {
    const c = this.conn;
    this.conn = null;
    if (c) c.close();
    this._timer('connect'); this._timer('idle'); this._timer('probe');
  }
  _list() { return this.client.transports; }

  // Tries the i-th transport of this round; past the last one, waits and starts a new round.
  _connect(i) {
    this._timer('retry');
    if (this.conn) this._drop();
    if (this.closed || !this.online) return;
    const list = this._list();
    if (i >= list.length) return this._retry();
    const kind = list[i];
    this.transport = kind;
    this._state('connecting');
    const conn = { kind, working: false, failed: false };
    conn.fail = (why) => {
      if (conn.failed || this.conn !== conn) return;
      conn.failed = true;
      this._drop();
      if (!conn.working) return this._connect(i + 1); // next transport at once
      this._state('disconnected');
      this._retry();
    };
    this.conn = conn;
    this._timer('connect', this.o.connectTimeoutMs, () => conn.fail('timeout'));
    conn.close = () => { conn.failed = true; conn.stop?.(); };
    conn.heard = () => {
      this._timer('idle', this.o.idleMs + (kind === 'longpoll' ? 40000 : 0), () => conn.fail('idle'));
      if (conn.working) return;
      conn.working = true;
      this._timer('connect');
      this.attempt = 0;
      this.client._worked(kind, i);
      this._state('connected');
      if (kind !== 'websocket' && list.includes('websocket')) this._probe();
    };
    try { this['_' + kind](conn); } catch { conn.fail('error'); }
  }
  // Waits, then starts a new round; with several addresses, on the next one (a dead node's rooms
  // move to another, and the resume query carries them on where they were).
  _retry() {
    this.addr = this.client._next(this.addr);
    const bye = this.byeMs;
    this.byeMs = null;
    const ms = bye != null ? bye + Math.random() * this.o.byeSpreadMs
      : backoffDelay(this.attempt++, this.o.minDelayMs, this.o.maxDelayMs);
    this.emit('reconnect', { delayMs: ms });
    this._timer('retry', ms, () => this._connect(this.client._start()));
  }
  _online(on) {
    this.online = on;
    if (!on) { this._drop(); this._state('disconnected'); this._timer('retry'); }
    else if (!this.conn) { this.attempt = 0; this._connect(this.client._start()); }
  }
  // On a fallback: checks now and then whether a WebSocket gets a welcome; if so, moves to it.
  _probe() {
    this._timer('probe', this.o.probeMs, () => {
      let ws, over;
      const done = (ok) => {
        if (over) return;
        over = true;
        clearTimeout(t);
        try { ws.close(); } catch { }
        if (ok && !this.closed && this.conn) {
          this.client._forget();
          this._drop();
          this._connect(this._list().indexOf('websocket'));
        } else if (this.conn) this._probe();
      };
      const t = setTimeout(() => done(false), this.o.connectTimeoutMs);
      try {
        ws = new this.o.WebSocket(this._url('ws', '/ws', { room: this.name, history: 0 }));
        ws.onmessage = (ev) => done(/"welcome"/.test(ev.data));
        ws.onerror = ws.onclose = () => done(false);
      } catch { done(false); }
    });
  }

  _url(scheme, path, q = {}) {
    const u = new URL(path, this.client.bases[this.addr]);
    if (scheme === 'ws') u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    const a = { user: this.o.user, token: this.o.token, ...q };
    for (const k in a) if (a[k] != null) u.searchParams.set(k, a[k]);
    return u.href;
  }
  _resumeQuery() {
    return this.last == null ? { history: this.history }
      : { since: this.last, epoch: this.epoch ?? undefined };
  }

  _websocket(conn) {
    const ws = new this.o.WebSocket(this._url('ws', '/ws', { room: this.name, ...this._resumeQuery() }));
    conn.ws = ws;
    conn.stop = () => { ws.onclose = ws.onerror = ws.onmessage = null; try { ws.close(); } catch { } clearInterval(ping); };
    const ping = setInterval(() => { if (ws.readyState === 1) ws.send('{"op":"ping"}'); }, this.o.idleMs / 3);
    conn.send = (o) => { try { ws.send(JSON.stringify(o)); } catch { } };
    ws.onmessage = (ev) => {
      if (this.conn !== conn) return;
      let o;
      try { o = JSON.parse(ev.data); } catch { return; }
      if (o.type === 'welcome') conn.heard(); // WS counts as working only after its welcome
      if (conn.working) { conn.heard(); this._object(o); }
    };
    ws.onerror = ws.onclose = () => conn.fail('closed');
  }

  async _sse(conn) {
    const ac = new AbortController();
    conn.stop = () => ac.abort();
    try {
      const res = await this.o.fetch(this._url('http', `/rooms/${this.name}/events`, this._resumeQuery()),
        { headers: { accept: 'text/event-stream' }, signal: ac.signal, cache: 'no-store' });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      const feed = sseParser((data) => {
        if (this.conn !== conn) return;
        try { const o = JSON.parse(data); conn.heard(); this._object(o); } catch { }
      });
      const reader = res.body.getReader(), dec = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (conn.working) conn.heard(); // heartbeats count as life
        feed(dec.decode(value, { stream: true }));
      }
    } catch { }
    conn.fail('closed');
  }

  async _longpoll(conn) {
    const ac = new AbortController();
    conn.stop = () => ac.abort();
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    try {
      while (this.conn === conn) {
        const q = this.cursor ? { cursor: this.cursor } : { history: this.last == null ? this.history : 0 };
        const res = await this.o.fetch(this._url('http', `/rooms/${this.name}/messages`, q), { signal: ac.signal, cache: 'no-store' });
        if (res.status === 400 && this.cursor) { this.cursor = null; continue; } // bad cursor: resume by history
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const a = await res.json();
        if (this.conn !== conn) return;
        const first = !conn.working;
        conn.heard();
        if (!this.cursor) this._pollStart(a);
        else for (const o of a.messages) this._object(o);
        this.cursor = a.cursor;
        if (first) this._flush();
        if (this.byeMs != null) break;
        if (a.timeoutMs) await sleep(a.timeoutMs);
      }
    } catch { }
    conn.fail('closed');
  }
  // A poll without a cursor: the room's head (and recent history on a first join).
  _pollStart(a) {
    if (this.last == null) {
      this.epoch = a.epoch;
      for (const o of a.messages) this._deliver(o);
      this.last = a.seq;
      return;
    }
    if (this.epoch == null) this.epoch = a.epoch;
    else if (a.epoch !== this.epoch) this._object({ type: 'gap', room: this.name, from: 1, to: 0, epoch: a.epoch, reset: true });
    if (a.seq > this.last) this._hole(a.seq);
  }

  // --- sending ---
  _flush() { for (const [cid, e] of this.outbox) this._sendOne(cid, e); }
  async _sendOne(cid, e) {
    const conn = this.conn;
    if (!conn?.working) return;
    e.sent = true;
    if (conn.send) return conn.send({ op: 'send', text: e.text, cid, ...(e.prio ? { prio: 1 } : {}) });
    try {
      const res = await this.o.fetch(this._url('http', `/rooms/${this.name}/messages`),
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: e.text, cid }) });
      const b = await res.json().catch(() => ({}));
      if (res.ok) return this._ack({ type: 'ack', cid, ...b });
      if (res.status < 500) {
        if (this.outbox.delete(cid)) e.reject(new RoomcastError(b.error || 'error', b.message, { status: res.status, retryMs: b.retry_ms }));
        return;
      }
    } catch { }
    // A 5xx or no answer: sent again (same cid) in a while, and on the next connection.
    setTimeout(() => this.outbox.get(cid) === e && this._sendOne(cid, e), 2000);
  }
  _ack(o) {
    const e = this.outbox.get(o.cid);
    if (!e) return;
    this.outbox.delete(o.cid);
    e.resolve(o);
  }

  // --- receiving ---
  _object(o) {
    switch (o.type) {
      case 'welcome':
        if (this.last == null) this.last = o.seq; // a fresh join: history (<= seq) comes as is
        if (this.epoch == null) this.epoch = o.epoch;
        this.emit('welcome', o);
        this._flush();
        return;
      case 'msg': case 'retract': return this._event(o);
      case 'state': case 'clear': return o.seq != null ? this._event(o) : this.emit(o.type, o); // a moderator's take a seq
      case 'gap':
        if (o.reset) {
          this.epoch = o.epoch; this.last = this.holeTo = o.to; this.buf.clear(); this.cursor = null;
          return this.emit('gap', o);
        }
        return this._hole(o.to);
      case 'ack': return this._ack(o);
      case 'error':
        this.emit('error', o);
        if (SEND_CODES.test(o.code) && o.op == null) { // the oldest send in flight is the one refused
          for (const [cid, e] of this.outbox) {
            if (e.sent && (!o.cid || o.cid === cid)) {
              this.outbox.delete(cid);
              e.reject(new RoomcastError(o.code, o.message, { retryMs: o.retry_ms }));
              break;
            }
          }
        }
        return;
      case 'bye': this.byeMs = o.reconnect_ms || 0; return this.emit('bye', o);
      case 'sampled': this.sampledAt = now(); return this.emit('sampled', o);
      case 'pong': return;
      default: return this.emit(o.type, o); // state, reactions, clear, and types to come
    }
  }
  _key(o) { return o.type === 'msg' ? 'm' + o.id : 'r' + this.epoch + ':' + eventSeq(o); }
  _deliver(o) {
    const k = this._key(o);
    if (this.ids.has(k)) return;
    this.ids.set(k, 1);
    if (this.ids.size > 5000) this.ids.delete(this.ids.keys().next().value);
    this.emit(o.type === 'msg' ? 'message' : o.type, o);
  }
  _event(o) {
    const s = eventSeq(o);
    if (this.last == null || s <= this.last) return this._deliver(o); // history, or a known one
    if (s === this.last + 1) {
      this._deliver(o);
      this.last = s;
      this._drain();
    } else {
      this.buf.set(s, o);
      this._hole(s - 1, this.o.holeWaitMs);
    }
  }
  _drain() {
    while (this.buf.has(this.last + 1)) {
      const o = this.buf.get(++this.last);
      this.buf.delete(this.last);
      this._deliver(o);
    }
    if (!this.buf.size && this.last >= this.holeTo) this._timer('hole');
  }
  // Seqs up to `to` are missing: wait a little for the stream, then ask history.
  _hole(to, wait = 0) {
    this.holeTo = Math.max(this.holeTo, to);
    if (!this.filling) this._timer('hole', wait, () => this._fill());
  }
  async _fill() {
    if (this.closed || this.last >= this.holeTo) return;
    if (this.sampledAt > now() - 2000) return this._skip(this.holeTo); // a hot room samples: no refill
    this.filling = true;
    let ok = false;
    try {
      const limit = Math.min(this.o.pageSize, this.holeTo - this.last);
      const res = await this.o.fetch(this._url('http', `/rooms/${this.name}/history`, { after: this.last, limit }), { cache: 'no-store' });
      const a = await res.json();
      if (!res.ok || (a.epoch && a.epoch !== this.epoch)) throw 0; // another epoch: its reset gap will come
      const from = this.last;
      for (const o of a.messages) {
        if (o.type === 'gap') { this.emit('gap', o); this._skip(o.to); continue; }
        this._skip(eventSeq(o) - 1); // seqs the page leaves out are retracted messages
        this._event(o);
      }
      if (!a.more) this._skip(Math.min(this.holeTo, a.seq ?? this.holeTo));
      ok = this.last > from;
    } catch { }
    this.filling = false;
    if (this.last < this.holeTo) this._hole(this.holeTo, ok ? 0 : this.o.minDelayMs * 2);
  }
  _skip(to) {
    if (to > this.last) {
      this.last = to;
      for (const s of [...this.buf.keys()].sort((a, b) => a - b)) if (s <= to) { this._deliver(this.buf.get(s)); this.buf.delete(s); }
    }
    this._drain();
  }
}

// The client: options shared by its rooms, the transport choice it remembers, online/offline.
export class Roomcast extends Emitter {
  constructor(baseUrl, opts = {}) {
    super();
    this.o = { ...DEFAULTS };
    for (const k in opts) if (opts[k] !== undefined) this.o[k] = opts[k];
    this.o.WebSocket ||= globalThis.WebSocket;
    this.o.fetch ||= globalThis.fetch?.bind(globalThis);
    // One address, or several nodes of one fleet (--redis): rooms start on the last one that
    // worked and move to the next one whenever a round fails or a working connection drops.
    const urls = Array.isArray(baseUrl) ? baseUrl : [baseUrl];
    if (!urls.length) throw new RoomcastError('bad_request', 'no address');
    this.bases = urls.map((u) => new URL(u || '/', globalThis.location?.href));
    this.base = this.bases[0];
    this.addr = 0;
    this.transports = this.o.transports.map((t) => TRANSPORTS[t]).filter((t) => t && (t !== 'websocket' || this.o.WebSocket));
    if (!this.transports.length) throw new RoomcastError('bad_request', 'no usable transport');
    this.rooms = new Set();
    this.key = 'roomcast.transport:' + this.base.origin;
    this.store = this.o.storage ?? (() => { try { return globalThis.localStorage; } catch { } })() ?? new Map();
    const on = (v) => () => this.rooms.forEach((r) => r._online(v));
    this.unlisten = [];
    if (globalThis.addEventListener && opts.watchOnline !== false) {
      for (const [ev, v] of [['online', true], ['offline', false]]) {
        const fn = on(v);
        globalThis.addEventListener(ev, fn);
        this.unlisten.push(() => globalThis.removeEventListener(ev, fn));
      }
    }
  }
  room(name, opts) { const r = new Room(this, name, opts); this.rooms.add(r); return r; }
  close() { [...this.rooms].forEach((r) => r.close()); this.unlisten.forEach((f) => f()); }

  _get() { try { return JSON.parse(this.store.getItem?.(this.key) ?? this.store.get?.(this.key)); } catch { return null; } }
  _set(v) { try { const s = v && JSON.stringify(v); this.store.setItem ? (s ? this.store.setItem(this.key, s) : this.store.removeItem(this.key)) : (s ? this.store.set(this.key, s) : this.store.delete(this.key)); } catch { } }
  _forget() { this._set(null); }
  // The address after i (the one all rooms start on from now).
  _next(i) { this.addr = (i + 1) % this.bases.length; return this.addr; }
  // Where a round starts: a remembered fallback (while fresh), else the first transport.
  _start() {
    const m = this._get();
    const i = m && m.until > now() ? this.transports.indexOf(m.t) : -1;
    return i > 0 ? i : 0;
  }
  // A transport worked: a fallback is remembered so the next rounds start there.
  _worked(kind, i) {
    if (i > 0) this._set({ t: kind, until: now() + this.o.rememberMs });
    else if (kind === 'websocket') this._forget();
  }
}
