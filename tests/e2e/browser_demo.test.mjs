// The demo page in Debian's headless Chromium (driven over the DevTools protocol, cdp.mjs): two
// tabs chat on each forced transport, a server restart loses and doubles nothing, and a proxy
// that accepts the WebSocket upgrade and then drops every frame makes the page fall back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { Browser, CHROMIUM } from './cdp.mjs';
import { Server, silentWsProxy, sleep } from './rcnode.mjs';

let browser;
const skip = existsSync(CHROMIUM) ? false : `no ${CHROMIUM} (Debian package chromium; make deps)`;

before(async () => { if (!skip) browser = await Browser.launch(); });
after(async () => { if (browser) await browser.close(); });

const texts = 'JSON.stringify(roomcastDemo.messages.map((m) => m.text))';
const connected = (t) => `roomcastDemo.room.state === "connected" && roomcastDemo.room.transport === "${t}"`;

async function say(page, text) {
  await page.eval(`(() => { const i = document.getElementById('text'); i.value = ${JSON.stringify(text)};
    document.getElementById('form').requestSubmit(); return true; })()`);
}

async function shown(page) {
  return JSON.parse(await page.eval(texts));
}

for (const transport of ['websocket', 'sse', 'longpoll']) {
  test(`two tabs chat over ${transport}`, { skip, timeout: 60000 }, async () => {
    const srv = await new Server().start();
    const room = `tabs-${transport}`;
    const a = await browser.newPage(`${srv.url}/?room=${room}&user=alice&transports=${transport}`);
    const b = await browser.newPage(`${srv.url}/?room=${room}&user=bob&transports=${transport}`);
    try {
      await a.waitFor(connected(transport), 10000);
      await b.waitFor(connected(transport), 10000);
      await say(a, 'hello from alice');
      await b.waitFor(`roomcastDemo.messages.length === 1`, 5000, 'bob sees alice');
      await say(b, 'hi alice');
      await a.waitFor(`roomcastDemo.messages.length === 2`, 5000, 'alice sees bob');
      await sleep(200);
      for (const p of [a, b]) assert.deepEqual(await shown(p), ['hello from alice', 'hi alice']);
      // what the page shows, not only what the client got
      const li = await b.eval(`[...document.querySelectorAll('#log li[data-seq]')].map((l) => l.textContent).join('|')`);
      assert.equal(li, 'alicehello from alice#1|bobhi alice#2');
    } finally {
      await a.close(); await b.close();
      await srv.stop();
    }
  });
}

test('a server restart: tabs resume, nothing lost or doubled, sends made while down arrive once',
  { skip, timeout: 90000 }, async () => {
    const srv = new Server(['--bye-reconnect-ms', '200']);
    mkdirSync(`${srv.dir}/data`);
    srv.args.push('--data-dir', `${srv.dir}/data`);
    await srv.start();
    const a = await browser.newPage(`${srv.url}/?room=restart&user=alice&transports=websocket`);
    const b = await browser.newPage(`${srv.url}/?room=restart&user=bob&transports=sse`);
    try {
      await a.waitFor(connected('websocket'), 10000);
      await b.waitFor(connected('sse'), 10000);
      for (let i = 0; i < 3; i++) await say(a, `before ${i}`);
      await b.waitFor('roomcastDemo.messages.length === 3', 5000);
      await srv.stop();
      await a.waitFor('roomcastDemo.room.state !== "connected"', 5000);
      await say(a, 'while down (alice)');
      await say(b, 'while down (bob)');
      await sleep(500);
      await srv.start();
      await a.waitFor(connected('websocket'), 20000, 'alice back');
      await b.waitFor(connected('sse'), 20000, 'bob back');
      await say(b, 'after');
      const want = ['before 0', 'before 1', 'before 2', 'while down (alice)', 'while down (bob)', 'after'];
      for (const p of [a, b]) {
        await p.waitFor('roomcastDemo.messages.length >= 6', 15000, 'all six');
      }
      await sleep(300);
      for (const p of [a, b]) {
        const got = await shown(p);
        assert.equal(got.length, 6, `lost or doubled: ${got}`);
        assert.deepEqual([...got].sort(), [...want].sort());
        const seqs = await p.eval('roomcastDemo.messages.map((m) => m.seq)');
        assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6]);
        assert.deepEqual(await p.eval('roomcastDemo.gaps'), []);
      }
    } finally {
      await a.close(); await b.close();
      await srv.stop();
    }
  });

test('a WebSocket that is accepted then silent: the page falls back to SSE and chats',
  { skip, timeout: 60000 }, async () => {
    const srv = await new Server().start();
    const proxy = await silentWsProxy(srv.port);
    const a = await browser.newPage(`${proxy.url}/?room=blocked&user=alice`);
    const b = await browser.newPage(`${srv.url}/?room=blocked&user=bob`);
    try {
      await b.waitFor(connected('websocket'), 10000);
      const t0 = Date.now();
      await a.waitFor(connected('sse'), 15000, 'fallback to SSE');
      assert.ok(Date.now() - t0 <= 12500);
      const states = await a.eval('roomcastDemo.states.map((s) => s.state + ":" + s.transport).join(",")');
      assert.match(states, /^connecting:websocket,connecting:sse,connected:sse/);
      await say(a, 'via sse');
      await say(b, 'via ws');
      for (const p of [a, b]) await p.waitFor('roomcastDemo.messages.length === 2', 5000);
      assert.deepEqual(await shown(a), await shown(b));
    } finally {
      await a.close(); await b.close();
      await proxy.close();
      await srv.stop();
    }
  });

test('presence and reactions: the page shows who is online and the reactions of the window',
  { skip, timeout: 60000 }, async () => {
    const srv = await new Server(['--reaction-window-ms', '300', '--state-interval-ms', '200']).start();
    const room = 'pulse';
    const a = await browser.newPage(`${srv.url}/?room=${room}&user=alice&transports=sse`);
    try {
      await a.waitFor(connected('sse'), 10000);
      await a.waitFor(`roomcastDemo.online === 1`, 5000, 'alice alone');
      // reactions need a WebSocket: alice's buttons are off, her page still shows the totals
      assert.equal(await a.eval(`document.querySelector('button.react').disabled`), true);
      const b = await browser.newPage(`${srv.url}/?room=${room}&user=bob&transports=websocket`);
      try {
        await b.waitFor(connected('websocket'), 10000);
        assert.equal(await b.eval(`document.querySelector('button.react').disabled`), false);
        await a.waitFor(`document.getElementById('online').textContent === '2 online'`, 5000, 'alice sees 2');
        // bob clicks 👍 twice and 🎉 once; alice's page shows one total for the window
        await b.eval(`(() => { const bs = [...document.querySelectorAll('button.react')];
          bs[0].click(); bs[0].click(); bs[3].click(); return true; })()`);
        await a.waitFor(`document.getElementById('tally').textContent.includes('👍 2')`, 5000, 'the tally');
        assert.match(await a.eval(`document.getElementById('tally').textContent`), /🎉 1/);
      } finally {
        await b.close();
      }
      await a.waitFor(`document.getElementById('online').textContent === '1 online'`, 5000, 'bob left');
    } finally {
      await a.close();
      await srv.stop();
    }
  });
