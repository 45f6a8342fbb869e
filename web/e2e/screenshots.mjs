// Not a test: takes the screenshots in web/README.md (web/docs/*.png) against the real
// broker, with mosquitto_pub as the peer.
//
//   TERN_BIN=… TERN_DIST=dist NODE_PATH=~/.cache/tern/node/node_modules node web/e2e/screenshots.mjs

import { mkdirSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startBroker, launchBrowser, connect, subscribe, mosquitto } from './harness.mjs';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs');
mkdirSync(out, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'tern-shots-'));
const config = join(dir, 'tern.toml');
writeFileSync(config, 'sys_interval = 1\n');
const broker = await startBroker({ args: ['--config', config] });
const browser = await launchBrowser();
const pub = (...a) => mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), ...a]);
try {
  const page = await browser.page(broker.url);
  await page.setViewportSize({ width: 1280, height: 760 });
  await connect(page);
  await pub('-t', 'house/garage/door', '-m', 'open', '-r');
  await subscribe(page, 'house/#', '1');
  for (let i = 0; i < 12; i++) {
    await pub('-t', 'house/kitchen/climate', '-m', JSON.stringify({ t: 20 + Math.sin(i / 2) * 2, h: 40 + i }));
    await pub('-t', `house/room${1 + (i % 3)}/main-light`, '-m', i % 2 ? 'on' : 'off');
    await new Promise((r) => setTimeout(r, 150));
  }
  await pub('-t', 'house/kitchen/climate', '-m', '{"t":23.5,"h":55}', '-q', '2');
  const shot = async (name) => page.screenshot({ path: join(out, `${name}.png`) });
  await shot('messages');
  await page.getByRole('tab', { name: 'Topics' }).click();
  await page.getByRole('treeitem', { name: /^kitchen/ }).click();
  await page.getByRole('treeitem', { name: /^climate/ }).click();
  await page.waitForTimeout(400);
  await shot('topics');
  await page.getByRole('tab', { name: 'Trace' }).click();
  await page.getByRole('button', { name: 'Follow newest' }).waitFor();
  await page.waitForTimeout(300);
  await shot('trace');
  await page.getByRole('tab', { name: 'Broker' }).click();
  await page.waitForTimeout(3500);
  await shot('broker');
  await page.getByRole('tab', { name: 'Lesson' }).click();
  await page.getByRole('button', { name: '3. Quality of Service 0, 1 and 2' }).click();
  await page.getByRole('button', { name: /^Run: / }).click();
  await page.locator('.outcome.good, .outcome.bad').waitFor({ timeout: 20_000 });
  await shot('lesson');
  await page.getByRole('button', { name: 'Presenter mode' }).click();
  await page.waitForTimeout(300);
  await shot('presenter');
  console.log(`screenshots in ${out}`);
} finally {
  await browser.close();
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
}
