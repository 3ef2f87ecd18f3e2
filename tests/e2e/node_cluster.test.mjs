// The JS client across a fleet (--redis; docs/cluster.md): given two nodes' addresses, a room
// whose node is killed with -9 moves to the other node and resumes there, on each transport,
// with nothing lost and nothing doubled, and its pending send is acked once. Starts its own
// redis-server on a free loopback port (no persistence) and kills only that PID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import { Roomcast } from '../../web/roomcast.js';
import { Server, freePort, postMessage, until, sleep, HOST } from './rcnode.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');  // Debian node-ws (NODE_PATH=/usr/share/nodejs)
const REDIS = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
const CURSOR_KEY = 'cd'.repeat(32);

function ping(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, HOST);
    let got = '';
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { got += d; if (got.includes('\r\n')) { s.destroy(); resolve(got.startsWith('+PONG')); } });
    s.on('error', () => resolve(false));
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn(REDIS, ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no',
    '--protected-mode', 'no'], { stdio: 'ignore', detached: true });
  await until(() => ping(port), 10000, 'redis-server answers PING');
  return { port, stop: () => { if (child.exitCode === null) child.kill('SIGKILL'); } };
}

async function kill9(srv) {
  srv.child.kill('SIGKILL');
  await srv.exited;
}

for (const transport of ['websocket', 'sse', 'longpoll']) {
  test(`${transport}: a node killed with -9, the room resumes on the next address`, { skip: !REDIS && 'redis-server is not installed' }, async () => {
    const redis = await startRedis();
    const flags = ['--redis', `${HOST}:${redis.port}`, '--cursor-key', CURSOR_KEY];
    const a = new Server(flags), b = new Server(flags);
    let c;
    try {
      await a.start(); await b.start();
      c = new Roomcast([a.url, b.url], {
        WebSocket, user: 'viewer', transports: [transport], storage: new Map(), watchOnline: false,
        minDelayMs: 100, maxDelayMs: 1000,
      });
      const room = `fleet-${transport}`;
      const r = c.room(room);
      const texts = [], seqs = [];
      r.on('message', (m) => { texts.push(m.text); seqs.push(m.seq); });
      await until(() => r.state === 'connected', 10000, 'connected');
      assert.equal(r.addr, 0, 'the room starts on the first address');
      for (let i = 0; i < 3; i++) await r.send(`before${i}`);
      for (let i = 0; i < 3; i++) await postMessage(b.url, room, 'other', `fromB${i}`, `b-${i}`);
      await until(() => texts.length >= 6, 10000, '6 messages before the kill');
      await kill9(a);
      const pending = r.send('during');  // queued while the room has no node
      for (let i = 3; i < 6; i++) await postMessage(b.url, room, 'other', `fromB${i}`, `b-${i}`);
      const ack = await pending;
      await until(() => texts.length >= 10, 15000, 'all 10 messages after the move');
      await sleep(300);
      assert.equal(r.addr, 1, 'the room moved to the second address');
      assert.equal(texts.length, 10, `lost or doubled: ${texts}`);
      assert.equal(new Set(texts).size, 10, `doubled: ${texts}`);
      assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'seq order');
      assert.ok(seqs.every((s, i) => i === 0 || s === seqs[i - 1] + 1), `holes: ${seqs}`);
      assert.ok(texts.includes('during') && ack.seq === seqs[texts.indexOf('during')]);
    } finally {
      c?.close();
      await b.stop();
      if (a.child && a.child.exitCode === null && a.child.signalCode === null) await a.stop();
      redis.stop();
    }
  });
}
