// Helpers for the Node end-to-end tests of the JS client (the Node twin of rcutil.py): a roomcast
// process on a free 127.0.0.1 port that can be restarted on the same port, a proxy that accepts
// WebSocket upgrades and then drops every frame, and waiting helpers. Kills only its own PIDs.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openSync, closeSync, readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.resolve(ROOT, process.env.ROOMCAST_BIN || 'build/src/roomcast');
export const HOST = '127.0.0.1';
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(cond, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(50);
  }
}

export function freePort() {
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

function baseFlags() {
  const help = spawnSync(BIN, ['--help'], { encoding: 'utf8', timeout: 10000 });
  const flags = `${help.stdout || ''}`.includes('--dev-auth') ? ['--dev-auth'] : [];
  // The suites send faster than a chat user may (--rate-limit 20/30 by default): off here.
  if (`${help.stdout || ''}`.includes('--rate-limit')) flags.push('--rate-limit', 'off');
  // Likewise its bursts would make rooms hot (automatic slow mode, sampling): both off here.
  if (`${help.stdout || ''}`.includes('--max-visible-rate')) {
    flags.push('--hot-msgs-per-sec', '0', '--max-visible-rate', '0');
  }
  const extra = (process.env.ROOMCAST_E2E_ARGS || '').trim();
  return extra ? flags.concat(extra.split(/\s+/)) : flags;
}

// One roomcast process; start() again after stop() reuses the port (clients reconnect to it).
export class Server {
  constructor(args = [], shards = 2) {
    this.args = args;
    this.shards = shards;
    this.dir = mkdtempSync(path.join(tmpdir(), 'roomcast-js-'));
    this.logPath = path.join(this.dir, 'server.log');
    this.port = 0;
    this.child = null;
  }
  get url() { return `http://${HOST}:${this.port}`; }
  log() { try { return readFileSync(this.logPath, 'utf8'); } catch { return ''; } }
  async start() {
    assert.ok(existsSync(BIN), `server binary ${BIN} does not exist (make build, or ROOMCAST_BIN)`);
    if (!this.port) this.port = await freePort();
    const fd = openSync(this.logPath, 'a');
    const argv = ['--listen', `${HOST}:${this.port}`, '--shards', String(this.shards), ...baseFlags(), ...this.args];
    this.child = spawn(BIN, argv, { stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    const child = this.child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`roomcast exited early (${child.exitCode ?? child.signalCode}):\n${this.log()}`);
      }
      if ((await healthz(this.port)) === 200) return this;
      await sleep(50);
    }
    throw new Error(`roomcast did not answer /healthz in 10 s:\n${this.log()}`);
  }
  // SIGTERM (the server says bye and drains), then SIGKILL after 10 s; resolves with the exit.
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.exited;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10000);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

// A TCP proxy in front of `target` that passes HTTP through but answers a WebSocket upgrade with
// a valid 101 and then never forwards a frame either way: a "silent" WebSocket.
export async function silentWsProxy(targetPort) {
  const socks = new Set();
  const srv = net.createServer((client) => {
    socks.add(client);
    client.on('close', () => socks.delete(client));
    client.on('error', () => {});
    client.once('data', (first) => {
      const head = first.toString('latin1');
      const key = /^Sec-WebSocket-Key:\s*(\S+)/im.exec(head);
      if (/^GET \/ws[?\s]/.test(head) && key) {
        const accept = createHash('sha1').update(key[1] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        client.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`);
        client.on('data', () => {});  // frames go nowhere
        return;
      }
      const up = net.connect(targetPort, HOST);
      socks.add(up);
      up.on('close', () => { socks.delete(up); client.destroy(); });
      up.on('error', () => client.destroy());
      client.on('close', () => up.destroy());
      up.write(first);
      client.pipe(up);
      up.pipe(client);
    });
  });
  await new Promise((r) => srv.listen(0, HOST, r));
  return {
    port: srv.address().port,
    url: `http://${HOST}:${srv.address().port}`,
    close: () => { for (const s of socks) s.destroy(); return new Promise((r) => srv.close(r)); },
  };
}

export async function getJson(url) {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

export async function postMessage(base, room, user, text, cid) {
  const res = await fetch(`${base}/rooms/${room}/messages?user=${user}`, {
    method: 'POST', body: JSON.stringify({ text, cid }),
  });
  assert.equal(res.status, 200, `POST ${text}: ${res.status}`);
  return res.json();
}
