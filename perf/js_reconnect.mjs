// 10,000 clients of web/roomcast.js (several Node processes) reconnecting after a server restart:
// how the reconnect attempts spread over time and how long until every client has resumed.
//   NODE_PATH=/usr/share/nodejs node perf/js_reconnect.mjs [--clients 10000] [--procs 4]
//        [--rooms 100]          (the server: ROOMCAST_BIN, default build/src/roomcast)
// Loopback only; every loop is bounded (a worker exits after --max-secs); kills only the server
// and the workers it started.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Server, sleep } from '../tests/e2e/rcnode.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};

if (process.argv[2] === 'worker') {
  // A worker: `count` clients over `rooms` rooms; reports each connection attempt and resume.
  const { Roomcast } = await import('../web/roomcast.js');
  const WS = createRequire(import.meta.url)('ws');
  const [, , , url, first, count, rooms, maxSecs] = process.argv;
  const attempts = [];
  class CountingWs extends WS {
    constructor(u) { super(u); attempts.push(Date.now()); }
  }
  const clients = [];
  for (let i = 0; i < Number(count); i++) {
    const c = new Roomcast(url, { WebSocket: CountingWs, transports: ['websocket'], storage: new Map(), watchOnline: false });
    const n = Number(first) + i;
    const r = c.room(`rc-${n % Number(rooms)}`);
    r.on('connection', (s) => { if (s.state === 'connected') process.send({ t: 'up', at: Date.now() }); });
    clients.push(c);
    if (i % 200 === 199) await sleep(20);  // join at a gentle pace
  }
  process.on('message', (m) => {
    if (m === 'report') process.send({ t: 'attempts', attempts });
    if (m === 'stop') { clients.forEach((c) => c.close()); process.exit(0); }
  });
  setTimeout(() => process.exit(2), Number(maxSecs) * 1000);
} else {
  const clients = Number(arg('clients', 10000)), procs = Number(arg('procs', 4));
  const rooms = Number(arg('rooms', 100)), maxSecs = Number(arg('max-secs', 180));
  const srv = new Server();
  mkdirSync(`${srv.dir}/data`);
  srv.args = ['--data-dir', `${srv.dir}/data`];
  await srv.start();
  const workers = [];
  let ups = [];
  const per = Math.ceil(clients / procs);
  for (let p = 0; p < procs; p++) {
    const w = fork(fileURLToPath(import.meta.url), ['worker', srv.url, String(p * per),
      String(Math.min(per, clients - p * per)), String(rooms), String(maxSecs)]);
    w.on('message', (m) => { if (m.t === 'up') ups.push(m.at); });
    workers.push(w);
  }
  const deadline = Date.now() + 120000;
  while (ups.length < clients && Date.now() < deadline) await sleep(200);
  if (ups.length < clients) throw new Error(`only ${ups.length} of ${clients} connected`);
  console.log(`${clients} clients connected (${procs} processes, ${rooms} rooms); restarting the server`);
  await sleep(1000);
  ups = [];
  const t0 = Date.now();
  const exit = await srv.stop();  // SIGTERM: every client gets bye (reconnect_ms 1000)
  const down = Date.now() - t0;
  await srv.start();
  const upAgain = Date.now() - t0;
  while (ups.length < clients && Date.now() - t0 < 90000) await sleep(100);
  const allBack = ups.length >= clients ? Math.max(...ups) - t0 : NaN;
  const attempts = [];
  await Promise.all(workers.map((w) => new Promise((res) => {
    w.on('message', (m) => { if (m.t === 'attempts') { attempts.push(...m.attempts.filter((a) => a >= t0)); res(); } });
    w.send('report');
  })));
  workers.forEach((w) => w.send('stop'));
  await srv.stop();
  const buckets = new Map();
  for (const a of attempts) buckets.set(Math.floor((a - t0) / 1000), (buckets.get(Math.floor((a - t0) / 1000)) || 0) + 1);
  const secs = [...buckets.keys()].sort((a, b) => a - b);
  console.log(`server stopped after ${down} ms (exit ${JSON.stringify(exit)}), listening again at ${upAgain} ms`);
  console.log(`reconnect attempts after the restart: ${attempts.length} (by ${clients} clients)`);
  console.log('second | attempts | share');
  let maxShare = 0;
  for (const s of secs) {
    const share = buckets.get(s) / attempts.length;
    maxShare = Math.max(maxShare, share);
    console.log(`${String(s).padStart(6)} | ${String(buckets.get(s)).padStart(8)} | ${(100 * share).toFixed(1)}%`);
  }
  console.log(`busiest second: ${(100 * maxShare).toFixed(1)}% of attempts`);
  console.log(`all ${clients} resumed ${(allBack / 1000).toFixed(2)} s after SIGTERM (${ups.length} resumed)`);
}
