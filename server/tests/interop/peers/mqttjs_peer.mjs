// Interop peer: drives the tern broker with MQTT.js 5 over WebSocket (MQTT 3.1.1 or 5).
//
// Run by server/tests/interop/main.rs as
//     node mqttjs_peer.mjs --url ws://H:P/mqtt --version 4|5 SCENARIO
// with SCENARIO one of qos, retain, will. MQTT.js is found through NODE_PATH (ES module
// imports ignore NODE_PATH, hence createRequire). Prints "OK <scenario>" and exits 0 on
// success; a failed expectation exits 1 with the reason on stderr. Every wait is bounded.

import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const mqtt = require('mqtt');

const TIMEOUT_MS = 10_000;
const { values: opts, positionals } = parseArgs({
  options: { url: { type: 'string' }, version: { type: 'string', default: '4' } },
  allowPositionals: true,
});
const scenario = positionals[0];
const version = Number(opts.version);
const tag = `interop/mqttjs-ws-${version}`;

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// A connected client plus a queue of received messages.
async function peer(clientId, extra = {}) {
  const client = mqtt.connect(opts.url, {
    clientId,
    protocolVersion: version,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: TIMEOUT_MS,
    ...extra,
  });
  const inbox = [];
  const waiters = [];
  client.on('message', (topic, payload, packet) => {
    const msg = { topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain };
    const w = waiters.shift();
    if (w) w(msg); else inbox.push(msg);
  });
  await withTimeout(new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  }), `connect ${clientId}`);
  return {
    client,
    next: (what) => withTimeout(new Promise((resolve) => {
      const m = inbox.shift();
      if (m) resolve(m); else waiters.push(resolve);
    }), what),
    subscribe: async (topic, qos) => {
      const granted = await withTimeout(client.subscribeAsync(topic, { qos }), `subscribe ${topic}`);
      if (granted.some((g) => g.qos >= 0x80)) fail(`SUBACK refused ${topic}: ${JSON.stringify(granted)}`);
    },
    publish: (topic, payload, qos, retain = false) =>
      withTimeout(client.publishAsync(topic, payload, { qos, retain }), `publish ${topic} qos ${qos}`),
    close: () => withTimeout(client.endAsync(), 'disconnect'),
  };
}

async function qosScenario() {
  const sub = await peer(`mqttjs-qos-sub-${version}`);
  await sub.subscribe(`${tag}/q/#`, 2);
  const pub = await peer(`mqttjs-qos-pub-${version}`);
  for (const qos of [0, 1, 2]) {
    const payload = `qos${qos} from mqtt.js`;
    await pub.publish(`${tag}/q/${qos}`, payload, qos);
    const m = await sub.next(`QoS ${qos} round trip`);
    if (m.topic !== `${tag}/q/${qos}` || m.payload !== payload || m.qos !== qos || m.retain) {
      fail(`QoS ${qos}: got ${JSON.stringify(m)}`);
    }
  }
  await pub.close();
  await sub.close();
}

async function retainScenario() {
  const pub = await peer(`mqttjs-retain-pub-${version}`);
  await pub.publish(`${tag}/r`, 'kept', 1, true);
  const late = await peer(`mqttjs-retain-late-${version}`);
  await late.subscribe(`${tag}/r`, 1);
  const m = await late.next('retained message on subscribe');
  if (m.payload !== 'kept' || !m.retain) fail(`retained: got ${JSON.stringify(m)}`);
  await late.close();
  // An empty retained payload deletes it: a new subscriber gets the marker first.
  await pub.publish(`${tag}/r`, '', 1, true);
  const fresh = await peer(`mqttjs-retain-fresh-${version}`);
  await fresh.subscribe(`${tag}/r`, 1);
  await fresh.subscribe(`${tag}/marker`, 1);
  await pub.publish(`${tag}/marker`, 'marker', 1);
  const first = await fresh.next('marker after deletion');
  if (first.topic !== `${tag}/marker`) fail(`retained message not deleted: ${JSON.stringify(first)}`);
  await fresh.close();
  await pub.close();
}

async function willScenario() {
  const watcher = await peer(`mqttjs-will-watcher-${version}`);
  await watcher.subscribe(`${tag}/will`, 1);
  const self = fileURLToPath(import.meta.url);
  const victim = spawn(process.execPath, [self, '--url', opts.url, '--version', String(version), 'victim'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await withTimeout(new Promise((resolve, reject) => {
      victim.stdout.on('data', (d) => { if (d.toString().includes('READY')) resolve(); });
      victim.once('exit', (code) => reject(new Error(`victim exited with ${code}`)));
    }), 'victim connected');
    victim.kill('SIGKILL'); // the socket closes without DISCONNECT
  } finally {
    if (victim.exitCode === null) victim.kill('SIGKILL');
  }
  const m = await watcher.next('will message after the victim died');
  if (m.topic !== `${tag}/will` || m.payload !== 'mqtt.js died') fail(`will: got ${JSON.stringify(m)}`);
  await watcher.close();
}

async function victimRole() {
  await peer(`mqttjs-will-victim-${version}`, {
    will: { topic: `${tag}/will`, payload: 'mqtt.js died', qos: 1, retain: false },
  });
  console.log('READY');
  setTimeout(() => {}, TIMEOUT_MS * 3); // killed long before
}

const scenarios = { qos: qosScenario, retain: retainScenario, will: willScenario, victim: victimRole };
if (!scenarios[scenario]) fail(`unknown scenario ${scenario}`);
try {
  await scenarios[scenario]();
  if (scenario !== 'victim') {
    console.log(`OK ${scenario}`);
    process.exit(0);
  }
} catch (e) {
  fail(e.stack || String(e));
}
