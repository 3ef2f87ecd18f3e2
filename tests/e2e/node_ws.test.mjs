// End-to-end test with the Node `ws` client (Debian node-ws: NODE_PATH=/usr/share/nodejs).
// Starts its own roomcast (ROOMCAST_BIN, default build/src/roomcast) on a free 127.0.0.1 port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { openSync, closeSync, readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.resolve(ROOT, process.env.ROOMCAST_BIN || 'build/src/roomcast');
const HOST = '127.0.0.1';
const ROOM = 'node-room';
const VIEWERS = 20;
const MESSAGES = 10;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function healthz(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function extraFlags() {
  // PROTOCOL.md: ?user=NAME needs --dev-auth where the binary has it.
  const help = spawnSync(BIN, ['--help'], { encoding: 'utf8', timeout: 10000 });
  const flags = `${help.stdout || ''}${help.stderr || ''}`.includes('--dev-auth') ? ['--dev-auth'] : [];
  // The suites send faster than a chat user may (--rate-limit 20/30 by default): off here.
  if (`${help.stdout || ''}`.includes('--rate-limit')) flags.push('--rate-limit', 'off');
  // Likewise its bursts would make rooms hot (automatic slow mode, sampling): both off here.
  if (`${help.stdout || ''}`.includes('--max-visible-rate')) {
    flags.push('--hot-msgs-per-sec', '0', '--max-visible-rate', '0');
  }
  const extra = (process.env.ROOMCAST_E2E_ARGS || '').trim();
  return extra ? flags.concat(extra.split(/\s+/)) : flags;
}

async function startServer() {
  assert.ok(existsSync(BIN), `server binary ${BIN} does not exist (make build, or ROOMCAST_BIN)`);
  const port = await freePort();
  const logPath = path.join(mkdtempSync(path.join(tmpdir(), 'roomcast-node-')), 'server.log');
  const fd = openSync(logPath, 'a');
  const args = ['--listen', `${HOST}:${port}`, '--shards', '2', ...extraFlags()];
  const child = spawn(BIN, args, { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const server = { port, child, exited, logPath, log: () => readFileSync(logPath, 'utf8') };
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`roomcast exited early (${child.exitCode ?? child.signalCode}):\n${server.log()}`);
    }
    if ((await healthz(port)) === 200) return server;
    await sleep(50);
  }
  await stopServer(server);
  throw new Error(`roomcast /healthz not 200 within 10 s:\n${server.log()}`);
}

// SIGTERM to this PID only; SIGKILL after 10 s as a last resort. Resolves to the exit info.
async function stopServer(server) {
  const { child } = server;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  try {
    return await withTimeout(server.exited, 10000, 'server exit after SIGTERM');
  } catch (e) {
    child.kill('SIGKILL');
    await withTimeout(server.exited, 5000, 'server exit after SIGKILL');
    throw e;
  }
}

// A client that queues every JSON frame it receives; next(pred) waits for the next one.
function connect(port, user) {
  const ws = new WebSocket(`ws://${HOST}:${port}/ws?room=${ROOM}&user=${user}`);
  const queue = [];
  let waiter = null;
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {}); // surfaced through 'close' (1006) and the assertions
  ws.on('message', (data, isBinary) => {
    queue.push(isBinary ? { type: '<binary frame>' } : JSON.parse(data.toString('utf8')));
    if (waiter) waiter();
  });
  const c = {
    ws,
    user,
    closed,
    frames: [],
    async next(ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        while (queue.length) {
          const f = queue.shift();
          c.frames.push(f);
          if (f.type === 'state' || f.type === 'reactions') continue; // clients ignore these
          return f;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${user}: no frame within ${ms} ms`);
        await withTimeout(new Promise((r) => { waiter = r; }), left, `${user} waiting for a frame`)
          .catch(() => {});
        waiter = null;
      }
    },
  };
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return withTimeout(opened, 5000, `${user} connect`).then(async () => {
    const w = await c.next();
    assert.equal(w.type, 'welcome', `${user}: first frame ${JSON.stringify(w)}`);
    assert.equal(w.room, ROOM);
    assert.equal(w.user, user);
    assert.ok(Number.isInteger(w.seq) && w.seq >= 0, JSON.stringify(w));
    assert.match(w.epoch, /^[0-9a-fA-F]+$/);
    c.welcome = w;
    return c;
  });
}

test('20 ws viewers get 10 messages in order, ack, SIGTERM exits 0', { timeout: 60000 }, async (t) => {
  const server = await startServer();
  let stopped = false;
  t.after(async () => {
    if (!stopped) await stopServer(server).catch(() => {});
  });
  try {
    const viewers = await Promise.all(
      Array.from({ length: VIEWERS }, (_, i) => connect(server.port, `nv${i}`)));
    const sender = await connect(server.port, 'nsender');
    const head = sender.welcome.seq;
    for (const v of viewers) assert.equal(v.welcome.seq, head, 'all joined before any message');

    // Send all 10 at once; the sender gets an ack and its own msg for each.
    const cids = Array.from({ length: MESSAGES }, (_, i) => `node-${i}`);
    for (const cid of cids) sender.ws.send(JSON.stringify({ op: 'send', text: `hello ${cid}`, cid }));
    const acks = new Map();
    const own = [];
    while (acks.size < MESSAGES || own.length < MESSAGES) {
      const f = await sender.next();
      if (f.type === 'ack') acks.set(f.cid, f.seq);
      else if (f.type === 'msg') own.push(f);
      else assert.fail(`sender: unexpected ${JSON.stringify(f)}`);
    }
    assert.deepEqual([...acks.keys()], cids, 'acks in send order');
    assert.deepEqual([...acks.values()], cids.map((_, i) => head + 1 + i), 'ack seqs');

    const check = (who, msgs) => {
      assert.deepEqual(msgs.map((m) => m.seq), cids.map((_, i) => head + 1 + i), `${who}: seqs`);
      msgs.forEach((m, i) => {
        assert.equal(m.type, 'msg');
        assert.equal(m.room, ROOM);
        assert.equal(m.id, cids[i], `${who}: id of seq ${m.seq}`);
        assert.equal(m.seq, acks.get(m.id), `${who}: msg seq equals the ack's`);
        assert.equal(m.user, 'nsender');
        assert.equal(m.text, `hello ${cids[i]}`);
        assert.ok(Number.isInteger(m.ts) && Math.abs(Date.now() - m.ts) < 60000, `${who}: ts ${m.ts}`);
      });
    };
    check('sender', own);
    await Promise.all(viewers.map(async (v) => {
      const msgs = [];
      for (let i = 0; i < MESSAGES; i++) msgs.push(await v.next());
      check(v.user, msgs);
      // Nothing else before the pong of an application ping.
      v.ws.send(JSON.stringify({ op: 'ping' }));
      const f = await v.next();
      assert.deepEqual(f, { type: 'pong' }, `${v.user}: extra frame ${JSON.stringify(f)}`);
    }));

    // SIGTERM: each viewer gets bye then a close; the process exits 0 within 5 s.
    const t0 = Date.now();
    server.child.kill('SIGTERM');
    await Promise.all([...viewers, sender].map(async (v) => {
      const bye = await v.next(5000);
      assert.equal(bye.type, 'bye', `${v.user}: ${JSON.stringify(bye)}`);
      assert.ok(Number.isInteger(bye.reconnect_ms) && bye.reconnect_ms >= 0);
      const code = await withTimeout(v.closed, 5000, `${v.user} close after bye`);
      assert.equal(code, 1001, `${v.user}: close code ${code} after bye, want 1001 (draining)`);
    }));
    const { code, signal } = await withTimeout(server.exited, 5000, 'exit within 5 s of SIGTERM');
    stopped = true;
    assert.equal(signal, null, `killed by ${signal}`);
    assert.equal(code, 0, `exit code ${code}`);
    assert.ok(Date.now() - t0 <= 5000);
    const log = server.log();
    for (const marker of ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:']) {
      assert.ok(!log.includes(marker), `sanitizer report (${marker}) in ${server.logPath}`);
    }
  } catch (e) {
    e.message += `\n--- server log (${server.logPath}) ---\n${server.log().split('\n').slice(-100).join('\n')}`;
    throw e;
  }
});
