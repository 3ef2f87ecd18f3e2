// Unit tests of web/roomcast.js under Node's test runner, with a fake WebSocket and fetch:
// ordering, de-duplication, hole filling, resets, sends across reconnects, fallback, backoff.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Roomcast, backoffDelay, eventSeq, sseParser } from '../../../web/roomcast.js';
import { fakeNet, msg, welcome, tick, until } from './fakes.mjs';

const FAST = { minDelayMs: 20, maxDelayMs: 200, connectTimeoutMs: 300, holeWaitMs: 30,
  byeSpreadMs: 0, probeMs: 100000, watchOnline: false };

function client(net, opts = {}) {
  return new Roomcast('http://srv.test/', { WebSocket: net.WebSocket, fetch: net.fetch,
    storage: new Map(), ...FAST, ...opts });
}

function collect(room) {
  const got = { messages: [], gaps: [], retracts: [] };
  room.on('message', (m) => got.messages.push(m.seq));
  room.on('gap', (g) => got.gaps.push(g));
  room.on('retract', (r) => got.retracts.push(r.at));
  return got;
}

test('options given as undefined keep their defaults', () => {
  const net = fakeNet();
  const c = new Roomcast('http://srv.test/', { WebSocket: net.WebSocket, fetch: net.fetch, transports: undefined, minDelayMs: undefined });
  assert.deepEqual(c.transports, ['websocket', 'sse', 'longpoll']);
  assert.equal(c.o.minDelayMs, 500);
});

test('backoff: full jitter between the floor and an exponential cap of 20 s', () => {
  assert.equal(backoffDelay(0, 500, 20000, () => 0), 500);
  assert.equal(backoffDelay(0, 500, 20000, () => 1), 1500);
  assert.equal(backoffDelay(3, 500, 20000, () => 1), 8500);
  assert.equal(backoffDelay(50, 500, 20000, () => 1), 20000);
  const xs = Array.from({ length: 2000 }, () => backoffDelay(6, 500, 20000));
  assert.ok(Math.min(...xs) >= 500 && Math.max(...xs) <= 20000);
  assert.ok(Math.max(...xs) - Math.min(...xs) > 15000, 'delays are spread, not fixed');
});

test('sse parser: events split across chunks, comments ignored, CRLF accepted', () => {
  const out = [];
  const feed = sseParser((d) => out.push(d));
  feed('retry: 1000\n\n: hb\n\nid: 4\nevent: msg\nda');
  feed('ta: {"a":1}\r\n\r\ndata: x\ndata: y\n');
  assert.deepEqual(out, ['{"a":1}']);
  feed('\n');
  assert.deepEqual(out, ['{"a":1}', 'x\ny']);
  assert.equal(eventSeq({ type: 'retract', seq: 3, at: 9 }), 9);
});

test('websocket: working only after welcome; events in seq order, once each', async () => {
  const net = fakeNet();
  const c = client(net);
  const states = [];
  c.on('state', (s) => states.push(s.state));
  const r = c.room('r', { history: 2 });
  const got = collect(r);
  await until(() => net.sockets.length === 1);
  const ws = net.last();
  assert.equal(ws.url.searchParams.get('history'), '2');
  await tick(5);
  assert.equal(r.state, 'connecting', 'open alone is not working');
  ws.push(welcome(10));
  ws.push(msg(9));  // history (<= head) as it comes
  ws.push(msg(10));
  ws.push(msg(12, { prio: 1 }));  // priority first, ahead of 11
  ws.push(msg(11));
  ws.push(msg(11));  // a duplicate
  ws.push(msg(13));
  assert.deepEqual(got.messages, [9, 10, 11, 12, 13]);
  assert.deepEqual(states, ['connecting', 'connected']);
  c.close();
});

test('a hole not filled by the stream is filled from history before later events', async () => {
  const net = fakeNet();
  net.on(({ url }) => url.pathname === '/rooms/r/history' && {
    status: 200,
    body: { messages: [msg(11), msg(13)], more: false, epoch: 'e1', seq: 15 },  // 12: retracted
  });
  const c = client(net);
  const r = c.room('r');
  const got = collect(r);
  await until(() => net.sockets.length === 1);
  net.last().push(welcome(10));
  net.last().push(msg(14));
  await tick(5);
  assert.deepEqual(got.messages, [], 'nothing after a hole is shown before the hole is filled');
  await until(() => got.messages.length === 3, 2000, 'the fill');
  assert.deepEqual(got.messages, [11, 13, 14]);
  const h = net.requests.find((q) => q.url.pathname === '/rooms/r/history');
  assert.equal(h.url.searchParams.get('after'), '10');
  assert.equal(h.url.searchParams.get('limit'), '3');
  net.last().push(msg(15));
  assert.deepEqual(got.messages, [11, 13, 14, 15]);
  c.close();
});

test('a server gap is filled from history; what history no longer keeps is a gap event', async () => {
  const net = fakeNet();
  net.on(({ url }) => url.pathname === '/rooms/r/history' && {
    status: 200,
    body: { messages: [{ type: 'gap', room: 'r', from: 1, to: 3 }, msg(4), msg(5)],
      more: false, epoch: 'e1', seq: 8 },
  });
  const c = client(net);
  const r = c.room('r', { since: 0, epoch: 'e1' });
  const got = collect(r);
  await until(() => net.sockets.length === 1);
  assert.equal(net.last().url.searchParams.get('since'), '0');
  net.last().push(welcome(8));
  net.last().push({ type: 'gap', room: 'r', from: 1, to: 5 });  // e.g. past --max-history-request
  net.last().push(msg(6));
  net.last().push(msg(7));
  await until(() => got.messages.length === 4, 2000, 'fill');
  assert.deepEqual(got.messages, [4, 5, 6, 7]);
  assert.deepEqual(got.gaps.map((g) => [g.from, g.to]), [[1, 3]]);
  c.close();
});

test('a reset gap is surfaced and seqs start again in the new epoch', async () => {
  const net = fakeNet();
  const c = client(net);
  const r = c.room('r', { since: 40, epoch: 'old' });
  const got = collect(r);
  await until(() => net.sockets.length === 1);
  assert.equal(net.last().url.searchParams.get('epoch'), 'old');
  net.last().push(welcome(2, 'new'));
  net.last().push({ type: 'gap', room: 'r', from: 1, to: 0, epoch: 'new', reset: true });
  net.last().push(msg(1));
  net.last().push(msg(2));
  assert.equal(got.gaps.length, 1);
  assert.equal(got.gaps[0].reset, true);
  assert.deepEqual(got.messages, [1, 2]);
  assert.equal(r.epoch, 'new');
  c.close();
});

test('send: retried with the same cid after a reconnect, resolved once by the ack', async () => {
  const net = fakeNet();
  const c = client(net);
  const r = c.room('r');
  await until(() => net.sockets.length === 1);
  net.last().push(welcome(0));
  const p = r.send('hello');
  await tick(5);
  const first = net.sockets[0].ops('send');
  assert.equal(first.length, 1);
  net.sockets[0].serverClose();  // lost before the ack
  await until(() => net.sockets.length === 2, 2000, 'reconnect');
  const ws2 = net.sockets[1];
  assert.equal(ws2.url.searchParams.get('since'), '0', 'resumes where it was');
  assert.equal(ws2.url.searchParams.get('epoch'), 'e1');
  assert.equal(ws2.ops('send').length, 0, 'nothing is sent before the welcome');
  ws2.push(welcome(1));
  assert.deepEqual(ws2.ops('send').map((o) => o.cid), [first[0].cid]);
  ws2.push({ type: 'ack', cid: first[0].cid, seq: 1, id: first[0].cid, duplicate: true });
  assert.equal((await p).seq, 1);
  c.close();
});

test('send over HTTP (SSE/poll): 4xx rejects with the code, 5xx retries', async () => {
  const net = fakeNet();
  let posts = 0;
  net.on(({ url, init, body }) => {
    if (url.pathname !== '/rooms/r/messages') return;
    if (init.method !== 'POST') {  // a poll held a little, as the server holds it
      return new Promise((res) => setTimeout(() => res({ status: 200, body: { messages: [], cursor: 'C1', timeoutMs: 0, epoch: 'e1', seq: 0 } }), 20));
    }
    posts++;
    if (body.text === 'big') return { status: 413, body: { error: 'too_large', message: 'x' } };
    if (posts === 1) return { status: 503, body: { error: 'unavailable' } };
    return { status: 200, body: { seq: 1, id: body.cid } };
  });
  const c = client(net, { transports: ['longpoll'] });
  const r = c.room('r');
  await until(() => r.state === 'connected');
  const ack = await r.send('hi');
  assert.equal(ack.seq, 1);
  assert.equal(posts, 2);
  await assert.rejects(r.send('big'), (e) => e.code === 'too_large' && e.status === 413);
  c.close();
});

test('a silent WebSocket falls back to the next transport and the fallback is remembered', async () => {
  const net = fakeNet();
  const storage = new Map();
  net.on(({ url }) => url.pathname === '/rooms/r/messages' &&
    new Promise((res) => setTimeout(() => res({ status: 200, body: { messages: [], cursor: 'C', timeoutMs: 0, epoch: 'e1', seq: 0 } }), 50)));
  const c = client(net, { transports: ['websocket', 'longpoll'], storage });
  const r = c.room('r');
  const t0 = Date.now();
  await until(() => r.state === 'connected' && r.transport === 'longpoll', 3000, 'fallback');
  assert.ok(Date.now() - t0 >= FAST.connectTimeoutMs, 'the WebSocket got its connect timeout');
  assert.equal(JSON.parse(storage.get('roomcast.transport:http://srv.test')).t, 'longpoll');
  c.close();
  // A second client starts with the remembered fallback: no WebSocket first.
  const c2 = client(net, { transports: ['websocket', 'longpoll'], storage });
  const before = net.sockets.length;
  const r2 = c2.room('r');
  await until(() => r2.state === 'connected');
  assert.equal(r2.transport, 'longpoll');
  assert.equal(net.sockets.length, before);
  c2.close();
});

test('on a fallback, a WebSocket probe that gets a welcome moves the room back', async () => {
  const net = fakeNet();
  net.on(({ url }) => url.pathname === '/rooms/r/messages' &&
    new Promise((res) => setTimeout(() => res({ status: 200, body: { messages: [], cursor: 'C', timeoutMs: 0, epoch: 'e1', seq: 0 } }), 30)));
  net.refuseWs = true;
  const c = client(net, { transports: ['websocket', 'longpoll'], probeMs: 100 });
  const r = c.room('r');
  await until(() => r.transport === 'longpoll' && r.state === 'connected');
  net.refuseWs = false;
  await until(() => net.sockets.length >= 2 && net.last().url.searchParams.get('history') === '0', 2000, 'probe');
  net.last().push(welcome(0));
  await until(() => r.transport === 'websocket', 2000, 'switch');
  await until(() => net.sockets.length >= 3);
  const ws = net.last();
  assert.equal(ws.url.searchParams.get('since'), '0', 'the switch resumes');
  ws.push(welcome(0));
  await until(() => r.state === 'connected');
  c.close();
});

test('bye: the reconnect waits at least reconnect_ms', async () => {
  const net = fakeNet();
  const c = client(net);
  const r = c.room('r');
  await until(() => net.sockets.length === 1);
  net.last().push(welcome(0));
  const delays = [];
  r.on('reconnect', (d) => delays.push(d.delayMs));
  net.last().push({ type: 'bye', reconnect_ms: 300 });
  const t0 = Date.now();
  net.last().serverClose();
  await until(() => net.sockets.length === 2, 2000);
  assert.ok(Date.now() - t0 >= 290, `reconnected after ${Date.now() - t0} ms`);
  assert.ok(delays[0] >= 300);
  c.close();
});

test('offline closes and waits; online reconnects at once', async () => {
  const net = fakeNet();
  const c = client(net, { minDelayMs: 5000, maxDelayMs: 10000 });
  const r = c.room('r');
  await until(() => net.sockets.length === 1);
  net.last().push(welcome(0));
  r._online(false);
  assert.equal(r.state, 'disconnected');
  await tick(50);
  assert.equal(net.sockets.length, 1);
  r._online(true);
  await until(() => net.sockets.length === 2, 500, 'reconnect on online');
  c.close();
});

test('several addresses: a dropped room resumes on the next one, and wraps around', async () => {
  const net = fakeNet();
  const c = new Roomcast(['http://a.test/', 'http://b.test/'], { WebSocket: net.WebSocket,
    fetch: net.fetch, storage: new Map(), ...FAST });
  const r = c.room('r');
  await until(() => net.sockets.length === 1);
  assert.equal(net.sockets[0].url.host, 'a.test');
  net.sockets[0].push(welcome(4));
  net.sockets[0].serverClose();  // the node dies
  await until(() => net.sockets.length === 2, 2000, 'reconnect');
  assert.equal(net.sockets[1].url.host, 'b.test');
  assert.equal(net.sockets[1].url.searchParams.get('since'), '4', 'resumes where it was');
  net.sockets[1].push(welcome(4));
  net.sockets[1].serverClose();
  await until(() => net.sockets.length === 3, 2000, 'reconnect');
  assert.equal(net.sockets[2].url.host, 'a.test', 'back to the first');
  // A room opened now starts where the client last moved to.
  const r2 = c.room('r2');
  await until(() => net.sockets.length === 4);
  assert.equal(net.sockets[3].url.host, 'a.test');
  r.close(); r2.close();
  assert.throws(() => new Roomcast([], { WebSocket: net.WebSocket }), /no address/);
  c.close();
});

test('react: sent over a working WebSocket only, false otherwise', async () => {
  const net = fakeNet();
  const c = client(net);
  const r = c.room('r');
  await until(() => net.sockets.length === 1);
  assert.equal(r.react('👍'), false, 'open but not welcomed yet');
  net.last().push(welcome(0));
  assert.equal(r.react('👍'), true);
  assert.deepEqual(net.last().ops('react'), [{ op: 'react', emoji: '👍' }]);
  net.last().serverClose();
  assert.equal(r.react('🎉'), false, 'between connections nothing is kept');
  c.close();
});
