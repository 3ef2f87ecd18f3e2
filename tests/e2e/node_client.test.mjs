// End-to-end tests of web/roomcast.js in Node against the real server (ROOMCAST_BIN, default
// build/src/roomcast): chat on each transport, a restart with nothing lost or doubled, a resume
// past --max-history-request filled from /history, and the fallback from a silent WebSocket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { Roomcast } from '../../web/roomcast.js';
import { Server, silentWsProxy, postMessage, until, sleep } from './rcnode.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');  // Debian node-ws (NODE_PATH=/usr/share/nodejs)

function client(base, user, opts = {}) {
  return new Roomcast(base, { WebSocket, user, storage: new Map(), watchOnline: false, ...opts });
}

function watch(room) {
  const seen = { texts: [], seqs: [], gaps: [] };
  room.on('message', (m) => { seen.texts.push(m.text); seen.seqs.push(m.seq); });
  room.on('gap', (g) => seen.gaps.push(g));
  return seen;
}

const ascending = (xs) => xs.every((x, i) => i === 0 || x === xs[i - 1] + 1);

for (const [sender, viewer] of [['websocket', 'websocket'], ['sse', 'sse'], ['longpoll', 'longpoll'], ['websocket', 'longpoll']]) {
  test(`chat: ${sender} sender, ${viewer} viewer`, async () => {
    const srv = await new Server().start();
    const a = client(srv.url, 'alice', { transports: [sender] });
    const b = client(srv.url, 'bob', { transports: [viewer] });
    try {
      const room = `chat-${sender}-${viewer}`;
      const ra = a.room(room), rb = b.room(room);
      const seenA = watch(ra), seenB = watch(rb);
      await until(() => ra.state === 'connected' && rb.state === 'connected', 5000, 'both connected');
      assert.equal(ra.transport, sender);
      assert.equal(rb.transport, viewer);
      const acks = [];
      for (let i = 0; i < 5; i++) acks.push(await ra.send(`a${i}`));
      acks.push(await rb.send('b0'));
      assert.deepEqual(acks.map((x) => x.seq), [1, 2, 3, 4, 5, 6]);
      const want = ['a0', 'a1', 'a2', 'a3', 'a4', 'b0'];
      await until(() => seenA.texts.length >= 6 && seenB.texts.length >= 6, 5000, 'messages');
      await sleep(200);
      assert.deepEqual(seenA.texts, want);
      assert.deepEqual(seenB.texts, want);
    } finally {
      a.close(); b.close();
      await srv.stop();
    }
  });
}

test('a restart loses nothing and doubles nothing (sends queued while down are delivered once)', async () => {
  const srv = new Server();
  mkdirSync(`${srv.dir}/data`);
  srv.args = ['--data-dir', `${srv.dir}/data`];  // the same on both runs
  await srv.start();
  const opts = { minDelayMs: 100, maxDelayMs: 1000, byeSpreadMs: 500 };
  const a = client(srv.url, 'alice', { transports: ['websocket'], ...opts });
  const b = client(srv.url, 'bob', { transports: ['sse'], ...opts });
  const c = client(srv.url, 'carol', { transports: ['longpoll'], ...opts });
  try {
    const rooms = [a, b, c].map((x) => x.room('restart'));
    const seen = rooms.map(watch);
    await until(() => rooms.every((r) => r.state === 'connected'), 5000, 'connected');
    for (let i = 0; i < 5; i++) await rooms[0].send(`before${i}`);
    await srv.stop();
    await until(() => rooms.every((r) => r.state !== 'connected'), 5000, 'all saw the restart');
    const pending = [rooms[0].send('during-a'), rooms[1].send('during-b'), rooms[2].send('during-c')];
    await sleep(300);
    await srv.start();
    const acks = await Promise.all(pending);
    for (let i = 0; i < 3; i++) await rooms[i % 3].send(`after${i}`);
    await until(() => seen.every((s) => s.texts.length >= 11), 20000, 'all 11 messages everywhere');
    await sleep(300);
    for (const s of seen) {
      assert.equal(s.texts.length, 11, `lost or doubled: ${s.texts}`);
      assert.equal(new Set(s.texts).size, 11);
      assert.deepEqual(s.seqs, [...s.seqs].sort((x, y) => x - y), 'seq order');
      assert.deepEqual(s.gaps, []);
    }
    assert.deepEqual(acks.map((x) => x.seq).sort(), [6, 7, 8]);
  } finally {
    a.close(); b.close(); c.close();
    await srv.stop();
  }
});

test('a resume past --max-history-request is completed from /history, in order, no gap', async () => {
  const srv = await new Server(['--max-history-request', '20', '--history', '500']).start();
  const a = client(srv.url, 'alice', { transports: ['websocket'], pageSize: 20 });
  try {
    for (let i = 1; i <= 100; i++) await postMessage(srv.url, 'deep', 'bob', `m${i}`, `cid-${i}`);
    const r = a.room('deep', { since: 0 });
    const seen = watch(r);
    await until(() => seen.texts.length >= 100, 10000, '100 messages');
    await sleep(200);
    assert.deepEqual(seen.seqs, Array.from({ length: 100 }, (_, i) => i + 1));
    assert.deepEqual(seen.gaps, [], 'a gap only for what the room no longer keeps');
    const ack = await r.send('live');
    assert.equal(ack.seq, 101);
    await until(() => seen.texts.length === 101, 5000, 'the live one');
    assert.ok(ascending(seen.seqs));
  } finally {
    a.close();
    await srv.stop();
  }
});

test('what the room no longer keeps is one gap event, the rest is delivered', async () => {
  const srv = await new Server(['--max-history-request', '10', '--history', '30']).start();
  const a = client(srv.url, 'alice', { transports: ['longpoll'], pageSize: 10 });
  try {
    for (let i = 1; i <= 50; i++) await postMessage(srv.url, 'old', 'bob', `m${i}`, `cid-${i}`);
    const r = a.room('old', { since: 0 });
    const seen = watch(r);
    await until(() => seen.texts.length >= 30, 10000, '30 kept messages');
    await sleep(200);
    assert.deepEqual(seen.seqs, Array.from({ length: 30 }, (_, i) => i + 21));
    assert.deepEqual(seen.gaps.map((g) => [g.from, g.to]), [[1, 20]]);
  } finally {
    a.close();
    await srv.stop();
  }
});

test('a silent WebSocket (upgrade accepted, then nothing) falls back to SSE within ~10 s', async () => {
  const srv = await new Server().start();
  const proxy = await silentWsProxy(srv.port);
  const a = client(proxy.url, 'alice');
  const b = client(srv.url, 'bob', { transports: ['websocket'] });
  try {
    const ra = a.room('silent'), rb = b.room('silent');
    const seenA = watch(ra);
    const t0 = Date.now();
    await until(() => ra.state === 'connected', 15000, 'fallback');
    const took = Date.now() - t0;
    assert.equal(ra.transport, 'sse');
    assert.ok(took >= 9000 && took <= 12500, `fell back after ${took} ms`);
    await until(() => rb.state === 'connected', 5000, 'bob');
    await rb.send('through the fallback');
    const ack = await ra.send('and back');
    assert.ok(ack.seq > 0);
    await until(() => seenA.texts.length === 2, 5000, 'messages over SSE');
    assert.deepEqual(seenA.texts, ['through the fallback', 'and back']);
  } finally {
    a.close(); b.close();
    await proxy.close();
    await srv.stop();
  }
});
