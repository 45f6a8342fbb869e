// Issue 11 item 6: "Export" downloads the message log and the trace as JSON Lines or CSV;
// a JSON Lines file is published again with progress, and Stop stops it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, launchBrowser, connect, subscribe, mosquitto, messages, waitForText } from './harness.mjs';

let broker;
let browser;
let page;
let dir;

before(async () => {
  broker = await startBroker();
  browser = await launchBrowser();
  page = await browser.page(broker.url);
  await connect(page);
  await subscribe(page, 'exp/#', '1');
  dir = mkdtempSync(join(tmpdir(), 'tern-export-e2e-'));
});

after(async () => {
  await browser?.close();
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function download(scope) {
  const [d] = await Promise.all([page.waitForEvent('download'), scope.getByRole('button', { name: 'Export' }).click()]);
  const file = join(dir, d.suggestedFilename());
  await d.saveAs(file);
  return { name: d.suggestedFilename(), text: readFileSync(file, 'utf8') };
}

test('the message log exports as JSON Lines and CSV', async () => {
  const pub = (...a) => mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), ...a]);
  await pub('-t', 'exp/a', '-m', '{"t":1}', '-q', '1');
  const bin = join(dir, 'bin');
  writeFileSync(bin, Buffer.from([0xff, 0x00, 0x41]));
  await pub('-t', 'exp/b', '-f', bin, '-r');
  await messages(page, 'exp/b').waitFor();
  const jl = await download(page.getByRole('region', { name: 'Messages' }));
  assert.equal(jl.name, 'tern-messages.jsonl');
  const lines = jl.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.deepEqual(
    { topic: lines[0].topic, payload: lines[0].payload, encoding: lines[0].encoding, qos: lines[0].qos, retain: lines[0].retain },
    { topic: 'exp/a', payload: '{"t":1}', encoding: 'utf-8', qos: 1, retain: false },
  );
  assert.equal(lines[1].encoding, 'base64');
  assert.equal(Buffer.from(lines[1].payload, 'base64').toString('hex'), 'ff0041');
  assert.ok(Math.abs(lines[0].timestamp - Date.now()) < 60_000);
  await page.getByLabel('File format').selectOption('csv');
  const csv = await download(page.getByRole('region', { name: 'Messages' }));
  assert.equal(csv.name, 'tern-messages.csv');
  assert.match(csv.text, /^timestamp,topic,qos,retain,encoding,payload,properties\r\n\d+,exp\/a,1,false,utf-8,"\{""t"":1\}",\r\n/);
});

test('the trace exports every packet with its bytes', async () => {
  await page.getByRole('tab', { name: 'Trace' }).click();
  const d = await download(page.getByRole('region', { name: 'Protocol trace' }));
  assert.equal(d.name, 'tern-trace.jsonl');
  const rows = d.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows[0].type, 'CONNECT');
  assert.equal(rows[0].direction, 'sent');
  assert.match(rows[0].hex, /^10[0-9a-f]{2}00044d515454/);
  assert.ok(rows.some((r) => r.type === 'SUBACK' && r.direction === 'received'));
  await page.getByRole('tab', { name: 'Messages' }).click();
});

test('a JSON Lines file is replayed to the broker, with progress, and Stop stops it', async () => {
  const lines = [];
  for (let i = 0; i < 5; i++) lines.push(JSON.stringify({ timestamp: 1000 + i * 100, topic: 'replay/x', payload: `m${i}`, encoding: 'utf-8', qos: 1, retain: false }));
  const file = join(dir, 'replay.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  const got = mosquitto('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), '-t', 'replay/x', '-C', '5', '-W', '15', '-q', '1']);
  await new Promise((r) => setTimeout(r, 300)); // mosquitto_sub has no "subscribed" signal
  await page.getByText('Replay a file').click();
  await page.getByLabel('JSON Lines file to replay').setInputFiles(file);
  await page.getByRole('button', { name: 'Start replay' }).click();
  assert.deepEqual((await got).trim().split('\n'), ['m0', 'm1', 'm2', 'm3', 'm4'], 'in order, with the original spacing');
  await waitForText(page.locator('.replay'), 'Replayed 5 messages.');
  assert.equal(await page.getByRole('progressbar', { name: 'Replay progress' }).getAttribute('value'), '5');

  // A long one, stopped part-way.
  const many = [];
  for (let i = 0; i < 400; i++) many.push(JSON.stringify({ timestamp: 1000 + i * 50, topic: 'replay/slow', payload: String(i) }));
  writeFileSync(file, many.join('\n'));
  await page.getByLabel('JSON Lines file to replay').setInputFiles(file);
  await page.getByRole('button', { name: 'Start replay' }).click();
  await waitForText(page.locator('.replay-count'), / of 400/);
  await page.getByRole('button', { name: 'Stop replay' }).click();
  await waitForText(page.locator('.replay'), /Stopped after \d+ of 400 messages\./);

  writeFileSync(file, '{"topic":"ok"}\nnot json\n');
  await page.getByLabel('JSON Lines file to replay').setInputFiles(file);
  await page.getByRole('button', { name: 'Start replay' }).click();
  await waitForText(page.locator('.replay'), 'Line 2: not JSON');
});
