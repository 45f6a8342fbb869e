// Scenarios 2 and 7: messages from another client appear with topic, payload, colour; a
// binary payload shows as a hex dump of every byte with the right size.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, launchBrowser, connect, subscribe, messages, mosquitto, rgb } from './harness.mjs';

let broker;
let browser;
let page;
let dir;

before(async () => {
  broker = await startBroker();
  browser = await launchBrowser();
  page = await browser.page(broker.url);
  await connect(page);
  dir = mkdtempSync(join(tmpdir(), 'tern-e2e-'));
});

after(async () => {
  await browser?.close();
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const pub = (...args) => mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), ...args]);

test('scenario 2: subscribe e2e/#, mosquitto_pub e2e/a hello → shown with topic, payload and colour', async () => {
  const color = await subscribe(page, 'e2e/#');
  await pub('-t', 'e2e/a', '-m', 'hello');
  const row = messages(page, 'e2e/a');
  await row.waitFor();
  assert.equal(await row.getByText('e2e/a', { exact: true }).count(), 1);
  assert.equal(await row.getByText('hello', { exact: true }).count(), 1);
  assert.match(await row.innerText(), /\d\d:\d\d:\d\d\.\d{3}/, 'time with milliseconds');
  assert.match(await row.innerText(), /QoS 0/);
  assert.match(await row.innerText(), /5 B/);
  const bar = await row.evaluate((el) => getComputedStyle(el).borderLeftColor);
  assert.equal(bar, rgb(color));
  const subRow = page.getByRole('region', { name: 'Subscriptions' }).getByRole('listitem').filter({ hasText: 'e2e/#' });
  assert.equal(await subRow.evaluate((el) => getComputedStyle(el).borderLeftColor), rgb(color));
  assert.deepEqual(browser.errors, []);
});

test('JSON payloads are pretty-printed and clicking a subscription filters the list', async () => {
  await subscribe(page, 'other/+');
  await pub('-t', 'other/x', '-m', '{"t":21.5,"ok":true}');
  const json = messages(page, 'other/x');
  await json.waitFor();
  assert.match(await json.locator('pre').innerText(), /^\{\n {2}"t": 21\.5,\n {2}"ok": true\n\}$/);
  await page.getByRole('button', { name: 'e2e/#', exact: true }).click();
  await json.waitFor({ state: 'detached' });
  assert.equal(await messages(page, 'e2e/a').count(), 1);
  await page.getByRole('button', { name: 'Show all' }).click();
  await json.waitFor();
});

/** The same layout the app promises: offset, 8+8 hex bytes, ASCII column. */
function hexDump(bytes) {
  const lines = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const chunk = [...bytes.subarray(off, off + 16)];
    let hex = '';
    for (let i = 0; i < 16; i++) {
      if (i === 8) hex += ' ';
      hex += i < chunk.length ? ' ' + chunk[i].toString(16).padStart(2, '0') : '   ';
    }
    const ascii = chunk.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')} ${hex}  |${ascii}|`);
  }
  return lines.join('\n');
}

test('scenario 7: a non-UTF-8 payload shows as hex with the right size, collapsed but complete', async () => {
  const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => (0x80 + i * 7) & 0xff));
  assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  const file = join(dir, 'binary.dat');
  writeFileSync(file, bytes);
  await pub('-t', 'e2e/bin', '-f', file, '-q', '1');
  const row = messages(page, 'e2e/bin');
  await row.waitFor();
  const meta = await row.innerText();
  assert.match(meta, /300 B/);
  assert.match(meta, /binary/);
  const pre = row.locator('pre');
  const collapsed = await pre.innerText();
  assert.equal(collapsed.split('\n').length, 12, 'long payloads start collapsed');
  await row.getByRole('button', { name: /Show all/ }).click();
  assert.equal(await pre.innerText(), hexDump(bytes));
});

test('Keep newest bounds the list and counts drops; Pause holds and counts arrivals; Clear empties', async () => {
  await page.getByRole('button', { name: 'Clear' }).click();
  const keep = page.getByLabel('Keep newest');
  await keep.fill('3');
  await keep.press('Enter');
  await keep.blur();
  for (const n of [1, 2, 3, 4, 5]) await pub('-t', 'e2e/count', '-m', `n${n}`);
  await messages(page, 'n5').waitFor();
  const panel = page.getByRole('region', { name: 'Messages' });
  const summary = async () => (await panel.innerText()).split('\n').find((l) => l.includes('kept'));
  assert.match(await summary(), /3 kept \(newest 3\) · 2 dropped/);
  assert.equal(await messages(page, 'e2e/count').count(), 3);

  await page.getByRole('button', { name: 'Pause' }).click();
  await pub('-t', 'e2e/count', '-m', 'n6');
  await pub('-t', 'e2e/count', '-m', 'n7');
  await page.getByRole('button', { name: 'Resume (2 new)' }).waitFor();
  assert.equal(await messages(page, 'n6').count(), 0, 'the list is frozen while paused');
  await page.getByRole('button', { name: /^Resume/ }).click();
  await messages(page, 'n7').waitFor();
  assert.equal(await messages(page, 'e2e/count').count(), 3);

  await page.getByRole('button', { name: 'Clear' }).click();
  await messages(page, 'e2e/count').first().waitFor({ state: 'detached' });
  await keep.fill('1000');
  await keep.press('Enter');
});
