// A small driver for Debian's headless Chromium over the DevTools protocol (with Debian's node-ws):
// start the browser, open pages, evaluate JavaScript in them, take a screenshot. Kills only the
// browser it started.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export class Browser {
  static async launch() {
    const profile = mkdtempSync(path.join(tmpdir(), 'roomcast-chromium-'));
    const child = spawn(CHROMIUM, ['--headless=new', '--no-sandbox', '--disable-gpu',
      '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check',
      '--disable-background-networking', '--disable-extensions', '--mute-audio',
      '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0',
      `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const url = await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`chromium did not start:\n${err}`)), 20000);
      child.stderr.on('data', (d) => {
        err += d;
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
        if (m) { clearTimeout(t); resolve(m[1]); }
      });
      child.once('exit', (code) => { clearTimeout(t); reject(new Error(`chromium exited ${code}:\n${err}`)); });
    });
    const b = new Browser(child, profile);
    await b.connect(url);
    return b;
  }

  constructor(child, profile) {
    this.child = child;
    this.profile = profile;
    this.nextId = 1;
    this.waiting = new Map();
  }

  connect(url) {
    this.ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 << 20 });
    this.ws.on('message', (data) => {
      const m = JSON.parse(data);
      const w = m.id && this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error) w.reject(new Error(`${w.method}: ${m.error.message}`));
      else w.resolve(m.result);
    });
    return new Promise((resolve, reject) => { this.ws.once('open', resolve); this.ws.once('error', reject); });
  }

  send(method, params = {}, sessionId) {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject, method }));
  }

  async newPage(url) {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this, targetId, sessionId);
    await page.call('Page.enable');
    await page.call('Runtime.enable');
    await page.goto(url);
    return page;
  }

  async close() {
    try { await Promise.race([this.send('Browser.close'), new Promise((r) => setTimeout(r, 3000))]); } catch { }
    try { this.ws.close(); } catch { }
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise((r) => this.child.once('exit', r));
      const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  constructor(browser, targetId, sessionId) {
    this.browser = browser;
    this.targetId = targetId;
    this.sessionId = sessionId;
  }
  call(method, params) { return this.browser.send(method, params, this.sessionId); }
  async goto(url) {
    await this.call('Page.navigate', { url });
    await this.waitFor('document.readyState === "complete"', 10000, `load ${url}`);
  }
  // Evaluates an expression (awaiting a promise) and returns its value.
  async eval(expression) {
    const r = await this.call('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`eval ${expression}: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
    return r.result.value;
  }
  async waitFor(expression, ms, what) {
    const end = Date.now() + ms;
    let last;
    for (;;) {
      try { last = await this.eval(expression); } catch (e) { last = e.message; }
      if (last === true) return;
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what || expression} (last: ${last})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  async screenshot(width, height) {
    await this.call('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    const { data } = await this.call('Page.captureScreenshot', { format: 'png' });
    return Buffer.from(data, 'base64');
  }
  close() { return this.browser.send('Target.closeTarget', { targetId: this.targetId }); }
}
