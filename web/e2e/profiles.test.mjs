// Issue 11 items 7 and 8: saved connection profiles (save, switch, delete, download and load
// as JSON); the header's message-rate meter; ?max= that is empty or not a number keeps the
// default; the reconnect countdown is a timer that is not re-announced.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, launchBrowser, connect, subscribe, statusLine, waitForText, peer } from './harness.mjs';

let broker;
let browser;
let dir;

before(async () => {
  broker = await startBroker();
  browser = await launchBrowser();
  dir = mkdtempSync(join(tmpdir(), 'tern-profiles-e2e-'));
});

after(async () => {
  await browser?.close();
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('profiles are saved, switched, deleted, downloaded and loaded', async () => {
  const page = await browser.page(broker.url);
  await subscribe(page, 'lab/#', '1').catch(() => {}); // offline: listed, granted later
  await page.getByLabel('Keep Alive (s)').fill('25');
  await page.getByText('Profiles', { exact: true }).click();
  await page.getByLabel('Profile name').fill('Lab');
  await page.getByRole('button', { name: 'Save as profile' }).click();
  await waitForText(page.locator('.profiles'), 'Saved “Lab”.');
  await page.getByLabel('Keep Alive (s)').fill('99');
  await page.getByLabel('Profile name').fill('Other');
  await page.getByRole('button', { name: 'Save as profile' }).click();
  await page.getByLabel('Profile', { exact: true }).selectOption('Lab');
  await page.getByRole('button', { name: 'Switch to profile' }).click();
  assert.equal(await page.getByLabel('Keep Alive (s)').inputValue(), '25');
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download profiles' }).click()]);
  const file = join(dir, 'profiles.json');
  await d.saveAs(file);
  const saved = JSON.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(saved.map((p) => p.name), ['Lab', 'Other']);
  assert.equal(saved[0].keepalive, '25');
  assert.deepEqual(saved[0].subscriptions, [{ filter: 'lab/#', qos: 1 }]);
  await page.getByLabel('Profile', { exact: true }).selectOption('Other');
  await page.getByRole('button', { name: 'Delete profile' }).click();
  assert.deepEqual(await page.getByLabel('Profile', { exact: true }).locator('option').allInnerTexts(), ['Lab']);

  // Another browser profile loads the file.
  const fresh = await browser.context.browser().newContext();
  try {
    const other = await fresh.newPage();
    await other.goto(broker.url);
    await other.getByText('Profiles', { exact: true }).click();
    writeFileSync(file, JSON.stringify([{ name: 'Imported', host: '127.0.0.1', port: String(broker.httpPort), keepalive: '17', subscriptions: [{ filter: 'imp/#', qos: 2 }] }]));
    await other.getByLabel('Load profiles from a file').setInputFiles(file);
    await waitForText(other.locator('.profiles'), 'Loaded 1 profiles.');
    await other.getByLabel('Profile', { exact: true }).selectOption('Imported');
    await other.getByRole('button', { name: 'Switch to profile' }).click();
    assert.equal(await other.getByLabel('Keep Alive (s)').inputValue(), '17');
    await connect(other);
    await waitForText(other.getByRole('region', { name: 'Subscriptions' }).getByRole('listitem').filter({ hasText: 'imp/#' }), 'QoS 2 granted');
  } finally {
    await fresh.close();
  }
});

test('the header meter shows the message rate', async () => {
  const page = await browser.page(broker.url);
  await connect(page);
  await subscribe(page, 'rate/#');
  const meter = page.getByRole('meter', { name: 'Message rate' });
  assert.equal(await meter.getAttribute('aria-valuetext'), '0.0 messages per second');
  const mqtt = peer('mqtt');
  const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`);
  try {
    const timer = setInterval(() => { for (let i = 0; i < 10; i++) pub.publish('rate/x', 'x'); }, 100);
    await page.waitForFunction(() => parseFloat(document.querySelector('meter')?.getAttribute('aria-valuetext')) >= 50, null, { timeout: 10_000 });
    clearInterval(timer);
  } finally {
    await pub.endAsync();
  }
});

test('?max= empty or not a number keeps the default; the countdown is a timer outside the announcement', async () => {
  const page = await browser.page(`${broker.url}?max=abc`);
  assert.equal(await page.getByLabel('Keep newest').inputValue(), '1000');
  const empty = await browser.page(`${broker.url}?max=`);
  assert.equal(await empty.getByLabel('Keep newest').inputValue(), '1000');
  await empty.getByLabel('Path').fill('/nowhere');
  await empty.getByRole('button', { name: 'Connect', exact: true }).click();
  const status = statusLine(empty);
  await waitForText(status, /Reconnecting in \d+ s/);
  const timer = status.getByRole('timer');
  assert.equal(await timer.getAttribute('aria-live'), 'off');
  assert.match(await timer.innerText(), /Reconnecting in \d+ s/);
  assert.equal(await status.getAttribute('aria-atomic'), 'true');
  await empty.getByRole('button', { name: 'Stop' }).click();
});
