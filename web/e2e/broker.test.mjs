// Issue 11 item 3: the Broker tab shows a region "Broker statistics" fed by $SYS/broker/#
// (the value "Clients connected", rates, version), and says plainly when a broker publishes
// no $SYS. The page's own $SYS subscription stays out of the message list.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, launchBrowser, connect, subscribe, messages, mosquitto, waitForText } from './harness.mjs';

const dir = mkdtempSync(join(tmpdir(), 'tern-sys-e2e-'));
const config = (interval) => {
  const file = join(dir, `sys-${interval}.toml`);
  writeFileSync(file, `sys_interval = ${interval}\n`);
  return ['--config', file];
};
let browser;
const brokers = [];

after(async () => {
  await browser?.close();
  for (const b of brokers) await b.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('statistics from $SYS/broker/#, with clients connected and rates', async () => {
  const broker = await startBroker({ args: config(1) });
  brokers.push(broker);
  browser = await launchBrowser();
  const page = await browser.page(broker.url);
  await connect(page);
  await subscribe(page, '#');
  // A second client, so the count is not just the page.
  const other = mosquitto('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), '-t', 'nothing', '-W', '8']).catch(() => {});
  await page.getByRole('tab', { name: 'Broker' }).click();
  const region = page.getByRole('region', { name: 'Broker statistics' });
  await waitForText(region, 'tern version');
  const clients = region.getByLabel('Clients connected');
  await page.waitForFunction(() => Number(document.querySelector('[aria-labelledby="sys-0"]')?.textContent) >= 2, null, { timeout: 10_000 });
  assert.ok(Number(await clients.innerText()) >= 2);
  for (let i = 0; i < 20; i++) {
    await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), '-t', 'load/x', '-m', String(i)]);
  }
  await page.waitForFunction(() => Number(document.querySelector('[aria-labelledby="sys-1"]')?.textContent) > 0, null, { timeout: 10_000 });
  assert.match(await region.innerText(), /Uptime\s+\d+ (s|min)/);
  await region.locator('svg.spark[data-figure="Clients connected"] polyline').waitFor();
  // '#' does not match $SYS topics ([MQTT-4.7.2-1]) and the page's own $SYS subscription
  // does not feed the message list.
  await page.getByRole('tab', { name: 'Messages' }).click();
  await messages(page, 'load/x').first().waitFor();
  assert.equal(await messages(page, '$SYS').count(), 0);
  await other;
});

test('a broker without $SYS is said to have none', async () => {
  const broker = await startBroker({ args: config(0) });
  brokers.push(broker);
  const page = await browser.page(broker.url);
  await connect(page);
  await page.getByRole('tab', { name: 'Broker' }).click();
  const region = page.getByRole('region', { name: 'Broker statistics' });
  await waitForText(region, 'waiting for');
  await waitForText(region, 'This broker publishes no $SYS statistics', 20_000);
  assert.equal((await region.getByLabel('Clients connected').innerText()).trim(), '–');
});
