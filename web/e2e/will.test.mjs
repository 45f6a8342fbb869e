// Scenario 5: a page with a Last Will is killed → the will appears on another page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, launchBrowser, connect, subscribe, messages } from './harness.mjs';

let broker;
let watcher;
let doomed;

before(async () => {
  broker = await startBroker();
  watcher = await launchBrowser();
  doomed = await launchBrowser({ killable: true });
});

after(async () => {
  await doomed?.close();
  await watcher?.close();
  await broker?.stop();
});

test('scenario 5: the Last Will of a killed page reaches the other page', async () => {
  const reader = await watcher.page(broker.url);
  await connect(reader);
  await subscribe(reader, 'e2e/will/#', '1');

  const page = await doomed.page(broker.url);
  await page.getByText('Last Will', { exact: true }).click();
  await page.getByLabel('Will topic').fill('e2e/will/student1');
  await page.getByLabel('Will QoS').selectOption('1');
  await page.getByLabel('Will message').fill('student1 went offline');
  await connect(page);
  assert.equal(await messages(reader, 'e2e/will/student1').count(), 0);

  doomed.kill(); // SIGKILL: no DISCONNECT, no close frame
  const row = messages(reader, 'e2e/will/student1');
  await row.waitFor({ timeout: 20_000 });
  assert.match(await row.innerText(), /student1 went offline/);
  assert.match(await row.innerText(), /QoS 1/);
});
