// TLS end to end: the broker serves the UI over https (`--https`) and MQTT over TLS (`--tls`)
// with a CA and server certificate made by the openssl CLI for this run. The page loaded over
// https connects with wss:// to the broker that served it, subscribes, and receives a message
// that mosquitto_pub sends over mqtts, verifying the certificate with --cafile.
//
// Chromium is launched here rather than through harness.mjs's launchBrowser, which takes no
// extra arguments: it needs --ignore-certificate-errors (and the context ignoreHTTPSErrors)
// to accept the test CA. The broker is started here too, because startBroker only reports the
// tcp and http ports, not the TLS ones.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CHROMIUM_ARGS, peer, connect, statusLine, subscribe, messages, mosquitto, watchHandshakes,
} from './harness.mjs';

const run = promisify(execFile);
const LINE_TLS = /^tern: mqtts listening on tls:\/\/([\d.]+):(\d+)$/;
const LINE_HTTPS = /^tern: https listening on https:\/\/([\d.]+):(\d+) \(websocket wss:\/\/\1:\2\/mqtt\)$/;

let dir;
let broker;
let browser;
let context;
const errors = [];

/** A CA and a server certificate for localhost / 127.0.0.1 signed by it (EC P-256, 1 day). */
async function makeCertificates(d) {
  const ossl = (args) => run('openssl', args, { cwd: d, timeout: 15_000 });
  // The clients check the name they dialled against the certificate.
  writeFileSync(join(d, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=tern e2e CA']);
  await ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  await ossl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-CAcreateserial', '-days', '1', '-out', 'server.pem', '-extfile', 'ext.cnf']);
  return { ca: join(d, 'ca.pem'), cert: join(d, 'server.pem'), key: join(d, 'server.key') };
}

/** tern with all four listeners on port 0; resolves once the TLS start-up lines are out. */
async function startTlsBroker(certs) {
  for (const name of ['TERN_BIN', 'TERN_DIST']) {
    const v = process.env[name];
    if (!v || !existsSync(v)) throw new Error(`${name} is not set or missing; run through \`cargo xtask test\``);
  }
  const child = spawn(process.env.TERN_BIN, [
    '--tcp', '127.0.0.1:0', '--http', '127.0.0.1:0', '--tls', '127.0.0.1:0', '--https', '127.0.0.1:0',
    '--certfile', certs.cert, '--keyfile', certs.key, '--web-root', process.env.TERN_DIST,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const ports = await new Promise((resolve, reject) => {
    let buf = '';
    const found = {};
    const timer = setTimeout(() => reject(new Error(`no TLS start-up lines within 15 s; stderr:\n${stderr}`)), 15_000);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`tern exited with ${code}; stderr:\n${stderr}`)); });
    child.stdout.on('data', (d) => {
      buf += d;
      for (let nl; (nl = buf.indexOf('\n')) >= 0; buf = buf.slice(nl + 1)) {
        const line = buf.slice(0, nl).trim();
        const t = LINE_TLS.exec(line);
        if (t) found.tls = Number(t[2]);
        const h = LINE_HTTPS.exec(line);
        if (h) found.https = Number(h[2]);
      }
      if (found.tls && found.https) { clearTimeout(timer); resolve(found); }
    });
  });
  child.removeAllListeners('exit');
  return {
    ...ports,
    url: `https://127.0.0.1:${ports.https}/`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

let certs;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tern-wss-'));
  certs = await makeCertificates(dir);
  broker = await startTlsBroker(certs);
  const { chromium } = peer('playwright-core');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, '--ignore-certificate-errors'],
  });
  context = await browser.newContext({ viewport: { width: 1400, height: 900 }, ignoreHTTPSErrors: true });
});

after(async () => {
  await browser?.close().catch(() => {});
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('page over https connects with wss:// and receives what mosquitto_pub sends over mqtts', async () => {
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  const handshakes = await watchHandshakes(page);
  const response = await page.goto(broker.url);
  assert.equal(response.status(), 200);
  // The form's defaults follow the page: https → TLS on, same host and port.
  assert.equal(await page.getByLabel('Port').inputValue(), String(broker.https));
  assert.equal(await page.getByLabel('TLS (wss)').isChecked(), true);

  await connect(page);
  assert.equal(handshakes.length, 1, JSON.stringify(handshakes));
  assert.equal(handshakes[0].url, `wss://127.0.0.1:${broker.https}/mqtt`);
  assert.equal(handshakes[0].status, 101);
  assert.equal(handshakes[0].responseHeaders['sec-websocket-protocol'], 'mqtt');
  assert.match(await statusLine(page).innerText(), /connected/i);

  await subscribe(page, 'e2e/tls/#', '1');
  await mosquitto('mosquitto_pub', [
    '-h', 'localhost', '-p', String(broker.tls), '--cafile', certs.ca,
    '-t', 'e2e/tls/hello', '-q', '1', '-m', 'hello over mqtts',
  ]);
  await messages(page, 'hello over mqtts').first().waitFor({ state: 'visible', timeout: 10_000 });
  assert.equal(await messages(page, 'e2e/tls/hello').count(), 1);
  assert.deepEqual(errors, []);
});
