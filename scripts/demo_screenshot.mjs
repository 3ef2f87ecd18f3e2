// Takes docs/demo.png: a server (build/src/roomcast or ROOMCAST_BIN), two demo tabs that chat,
// reactions, a screenshot of one of them in Debian's headless Chromium.
//   NODE_PATH=/usr/share/nodejs node scripts/demo_screenshot.mjs [OUT.png]
// (the reaction buttons want an emoji font: Debian's fonts-noto-color-emoji)
import { writeFileSync } from 'node:fs';
import { Browser } from '../tests/e2e/cdp.mjs';
import { Server, sleep } from '../tests/e2e/rcnode.mjs';

const out = process.argv[2] || new URL('../docs/demo.png', import.meta.url).pathname;
const srv = await new Server().start();
const browser = await Browser.launch();
try {
  const a = await browser.newPage(`${srv.url}/?room=lobby&user=alice`);
  const b = await browser.newPage(`${srv.url}/?room=lobby&user=bob&transports=longpoll`);
  for (const p of [a, b]) await p.waitFor('roomcastDemo.room.state === "connected"', 15000);
  const say = (p, t) => p.eval(`(() => { document.getElementById('text').value = ${JSON.stringify(t)};
    document.getElementById('form').requestSubmit(); return true; })()`);
  await say(a, 'hi! this page uses /roomcast.js over a WebSocket');
  await sleep(150);
  await say(b, 'and I am on long-poll (?transports=longpoll), same room');
  await sleep(150);
  await say(a, 'restart the server: we both resume, nothing lost or doubled');
  await a.waitFor('roomcastDemo.messages.length === 3', 5000);
  await a.eval(`(() => { const bs = [...document.querySelectorAll('button.react')];
    bs[0].click(); bs[0].click(); bs[3].click(); return true; })()`);
  await a.waitFor(`document.getElementById('tally').textContent !== ''`, 5000);
  await sleep(300);
  writeFileSync(out, await a.screenshot(720, 360));
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await srv.stop();
}
