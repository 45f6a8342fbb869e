// Shared start-up for the browser end-to-end tests: the real broker (TERN_BIN) serving the
// built app (TERN_DIST), headless Chromium through playwright-core, and mosquitto clients.
// Everything is bounded by a deadline; nothing sleeps where an event can be awaited.

import { spawn, execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { existsSync } from 'node:fs';

const require = createRequire(import.meta.url);
const SETUP_HINT = 'run `cargo xtask setup` (or `cargo xtask test`, which sets TERN_BIN, TERN_DIST and NODE_PATH)';

/** Loads a Node package from NODE_PATH, failing with a set-up hint instead of skipping. */
export function peer(name) {
  try {
    return require(name);
  } catch (e) {
    throw new Error(`node package '${name}' not found (${e.code}); ${SETUP_HINT}`);
  }
}

function env(name) {
  const v = process.env[name];
  if (!v || !existsSync(v)) {
    throw new Error(`${name} is ${v ? `'${v}', which does not exist` : 'not set'}; ${SETUP_HINT}`);
  }
  return v;
}

const STDOUT_TCP = /^tern: mqtt listening on tcp:\/\/([\d.]+):(\d+)$/;
const STDOUT_HTTP = /^tern: http listening on http:\/\/([\d.]+):(\d+) /;

/**
 * Starts `tern` on 127.0.0.1 (port 0 unless given) serving TERN_DIST, and waits for the two
 * start-up lines on stdout. `args` are extra broker arguments (e.g. `['--config', file]`).
 * Returns { tcpPort, httpPort, url, stop(), restart() }.
 */
export async function startBroker({ tcpPort = 0, httpPort = 0, args = [] } = {}) {
  const bin = env('TERN_BIN');
  const dist = env('TERN_DIST');
  const child = spawn(bin, ['--tcp', `127.0.0.1:${tcpPort}`, '--http', `127.0.0.1:${httpPort}`, '--web-root', dist, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const ports = await new Promise((resolve, reject) => {
    let buf = '';
    const found = {};
    const timer = setTimeout(() => reject(new Error(`tern did not print its addresses within 15 s; stderr:\n${stderr}`)), 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tern exited with ${code} before listening; stderr:\n${stderr}`));
    });
    child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        const t = STDOUT_TCP.exec(line);
        if (t) found.tcp = Number(t[2]);
        const h = STDOUT_HTTP.exec(line);
        if (h) found.http = Number(h[2]);
        if (found.tcp && found.http) {
          clearTimeout(timer);
          resolve(found);
        }
      }
    });
  });
  child.removeAllListeners('exit');
  const broker = {
    tcpPort: ports.tcp,
    httpPort: ports.http,
    url: `http://127.0.0.1:${ports.http}/`,
    stderr: () => stderr,
    /** SIGTERM (graceful shutdown), then wait for the process to end (SIGKILL after 10 s). */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    /** Stops and starts again on the same ports (for the reconnect test). */
    async restart() {
      await broker.stop();
      return startBroker({ tcpPort: broker.tcpPort, httpPort: broker.httpPort, args });
    },
  };
  return broker;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Headless Chromium with a fresh (temporary) profile and one browser context. `killable`
 * starts it as a separate server process so that `kill()` can SIGKILL it.
 */
export async function launchBrowser({ killable = false } = {}) {
  const { chromium } = peer('playwright-core');
  if (!existsSync('/usr/bin/chromium')) {
    throw new Error(`/usr/bin/chromium is missing; ${SETUP_HINT}`);
  }
  const options = { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS };
  const server = killable ? await chromium.launchServer(options) : null;
  const browser = server ? await chromium.connect(server.wsEndpoint()) : await chromium.launch(options);
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  return {
    browser,
    context,
    errors,
    /** A new tab that records uncaught errors and console errors. */
    async page(url) {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      if (url) await page.goto(url);
      return page;
    },
    /** Kills the browser process outright: no unload handlers, no WebSocket close frame. */
    kill() {
      if (!server) throw new Error('launchBrowser({ killable: true }) is needed to kill the browser');
      server.process().kill('SIGKILL');
    },
    async close() {
      await browser.close().catch(() => {});
      await server?.close().catch(() => {});
    },
  };
}

/** The connection status line. */
export function statusLine(page) {
  return page.getByRole('status', { name: 'Connection status' });
}

/** Waits until `locator` contains `text` (string or RegExp). */
export async function waitForText(locator, text, timeout = 10_000) {
  await locator.filter({ hasText: text }).first().waitFor({ state: 'visible', timeout });
}

/** Presses Connect with the page's defaults and waits for "Connected". */
export async function connect(page, timeout = 10_000) {
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await waitForText(statusLine(page), 'Connected to', timeout);
}

/** Adds a subscription and waits for the broker's grant; returns the colour chosen. */
export async function subscribe(page, filter, qos = '0') {
  const panel = page.getByRole('region', { name: 'Subscriptions' });
  await panel.getByLabel('Topic filter').fill(filter);
  await panel.getByLabel('QoS').selectOption(qos);
  const color = await panel.getByLabel('Colour').inputValue();
  await panel.getByRole('button', { name: 'Subscribe', exact: true }).click();
  const row = panel.getByRole('listitem').filter({ hasText: filter });
  await waitForText(row, `QoS ${qos} granted`);
  return color;
}

/** The message rows whose text contains `text`. */
export function messages(page, text) {
  return page.getByRole('list', { name: 'Messages' }).getByRole('listitem').filter({ hasText: text });
}

/** `#rrggbb` → `rgb(r, g, b)` as getComputedStyle reports it. */
export function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}

/** Runs a mosquitto client tool; resolves with stdout, rejects on failure or timeout. */
export function mosquitto(tool, args, { timeout = 15_000, encoding = 'utf8' } = {}) {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { timeout, encoding }, (err, stdout, stderr) => {
      if (err) {
        const missing = err.code === 'ENOENT' ? `; ${tool} is not installed — ${SETUP_HINT}` : '';
        reject(new Error(`${tool} ${args.join(' ')} failed: ${err.message}${missing}\n${stderr}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** Returns a promise for the page's next WebSocket handshake as seen by the network layer. */
export async function watchHandshakes(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const handshakes = [];
  const requests = new Map();
  cdp.on('Network.webSocketCreated', (e) => requests.set(e.requestId, { url: e.url }));
  cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => {
    const r = requests.get(e.requestId) ?? {};
    r.requestHeaders = lower(e.request.headers);
    requests.set(e.requestId, r);
  });
  cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
    const r = requests.get(e.requestId) ?? {};
    r.status = e.response.status;
    r.responseHeaders = lower(e.response.headers);
    handshakes.push(r);
  });
  return handshakes;
}

function lower(headers) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
