// The JS client (web/roomcast.js in Node, over Node `ws`) with reactions and presence: r.react()
// reaches every viewer as one aggregated `reactions` event, a refused reaction (its error names
// op "react") never rejects a send in flight, and `state` events carry the online count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Roomcast } from '../../web/roomcast.js';
import { Server, until, sleep } from './rcnode.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');  // Debian node-ws (NODE_PATH=/usr/share/nodejs)

function client(base, user) {
  return new Roomcast(base, { WebSocket, user, storage: new Map(), watchOnline: false, transports: ['websocket'] });
}

test('reactions are aggregated for every viewer; a refused one rejects no send', async () => {
  const srv = await new Server(['--react-rate-limit', '2/60', '--state-interval-ms', '300']).start();
  const a = client(srv.url, 'alice'), b = client(srv.url, 'bob');
  try {
    const ra = a.room('party'), rb = b.room('party');
    const reactionsB = [], statesA = [], errorsA = [];
    let welcomeA = 0;
    ra.on('welcome', (w) => { welcomeA = w.online; });
    rb.on('reactions', (e) => reactionsB.push(e));
    ra.on('state', (e) => statesA.push(e));
    ra.on('error', (e) => errorsA.push(e));
    await until(() => ra.state === 'connected' && rb.state === 'connected', 5000, 'both connected');
    // Alice learns the count of 2 from a state, or from her welcome when bob joined first (a
    // viewer is never sent a count it was already told).
    await until(() => welcomeA === 2 || statesA.some((s) => s.online === 2), 5000, 'online 2');
    ra.react('👍'); ra.react('👍'); rb.react(':pog:');
    ra.react('👍'); // alice's third in 60 s: refused
    const ack = await ra.send('still fine');  // must not be rejected by the reaction's refusal
    assert.ok(ack.seq >= 1, JSON.stringify(ack));
    await until(() => reactionsB.length > 0, 5000, 'a reactions event');
    await sleep(1500);  // a second window, if any, would show here
    const counts = {};
    for (const e of reactionsB) for (const [k, n] of Object.entries(e.counts)) counts[k] = (counts[k] || 0) + n;
    assert.deepEqual(counts, { '👍': 2, ':pog:': 1 });
    const refused = errorsA.find((e) => e.op === 'react');
    assert.equal(refused?.code, 'rate_limited', JSON.stringify(errorsA));
    assert.ok(refused.retry_ms > 0);
    b.close();
    await until(() => statesA.at(-1)?.online === 1, 5000, 'a state with online 1 after bob left');
  } finally {
    a.close(); b.close();
    await srv.stop();
  }
});
