// permessage-deflate with the Node `ws` client (Debian node-ws: NODE_PATH=/usr/share/nodejs)
// against the real server (ROOMCAST_BIN, default build/src/roomcast): negotiated with
// server_no_context_takeover, the client's compressed sends inflated and acked, large server
// messages compressed once per shard (the /metrics counters) and decoded by ws, and a client that
// does not offer the extension getting the same texts plain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Server, until } from './rcnode.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

function open(srv, room, user, perMessageDeflate) {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws?room=${room}&user=${user}`,
    { perMessageDeflate });
  const got = [];
  ws.on('message', (data) => got.push(JSON.parse(data.toString())));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, got }));
    ws.once('error', reject);
  });
}

async function metric(srv, name) {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').pop());
  }
  return sum;
}

const chatText = (n, seed) => {
  const words = ['goal', 'what', 'a', 'shot', 'keeper', 'no', 'chance', 'replay', 'lol', 'unreal'];
  let s = '';
  for (let i = seed; s.length < n; i++) s += `${words[(i * 7) % words.length]} `;
  return s.slice(0, n);
};

test('ws negotiates permessage-deflate and round-trips compressed messages', async () => {
  const srv = await new Server(['--deflate', 'on', '--max-text', '2000'], 1).start();
  const clients = [];
  try {
    // threshold 0: the client compresses every message it sends.
    const a = await open(srv, 'nd', 'alice', { threshold: 0 });
    const b = await open(srv, 'nd', 'bob', true);
    const c = await open(srv, 'nd', 'carol', false);
    clients.push(a, b, c);
    for (const x of [a, b]) {
      assert.equal(x.ws.extensions, 'permessage-deflate');
      // What the server's answer made of it (ws keeps the accepted parameters).
      const { params } = x.ws._extensions['permessage-deflate'];
      assert.equal(params.server_no_context_takeover, true);
      assert.equal(params.client_no_context_takeover, true);
    }
    assert.equal(c.ws.extensions, '');
    await until(() => [a, b, c].every((x) => x.got.some((m) => m.type === 'welcome')), 5000, 'welcomes');
    const calls0 = await metric(srv, 'roomcast_deflate_calls_total');
    const texts = ['hi', chatText(1024, 1), chatText(400, 2)];
    for (const [i, text] of texts.entries()) {
      a.ws.send(JSON.stringify({ op: 'send', text, cid: `n${i}` }));
    }
    const msgs = (x) => x.got.filter((m) => m.type === 'msg').map((m) => m.text);
    await until(() => [a, b, c].every((x) => msgs(x).length === texts.length), 5000, 'all messages');
    for (const x of [a, b, c]) assert.deepEqual(msgs(x), texts);
    assert.deepEqual(a.got.filter((m) => m.type === 'ack').map((m) => m.cid), ['n0', 'n1', 'n2']);
    // Two messages over --deflate-min-bytes, each deflated once for both compressed viewers.
    assert.equal(await metric(srv, 'roomcast_deflate_calls_total') - calls0, 2);
    assert.ok(await metric(srv, 'roomcast_inflate_messages_total') >= 3);
  } finally {
    for (const x of clients) x.ws.terminate();
    await srv.stop();
  }
});
