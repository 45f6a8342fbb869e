// MQTT 3.1 (protocol level 3, "MQIsdp") from the version selector against the real broker:
// its client-id rule is checked in the form, and a publish/subscribe round trip works.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, launchBrowser, connect, subscribe, messages, statusLine, waitForText, peer } from './harness.mjs';

let broker;
let browser;

before(async () => {
  broker = await startBroker();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await broker?.stop();
});

test('MQTT 3.1: a Client ID over 23 characters is refused in the form (MQTT 3.1 section 3.1)', async () => {
  const page = await browser.page(broker.url);
  await page.getByLabel('Protocol version').selectOption({ label: 'MQTT 3.1' });
  const id = page.getByLabel('Client ID');
  await id.fill('abcdefghijklmnopqrstuvwx'); // 24
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await waitForText(statusLine(page), 'MQTT 3.1 needs a Client ID of 1 to 23 characters');
  await page.getByRole('button', { name: 'New ID' }).click();
  await connect(page);
  assert.match(await statusLine(page).innerText(), /MQTT 3\.1,/);
});

test('MQTT 3.1: connect, subscribe, publish from the page and receive, with an MQTT.js 3.1 peer', async () => {
  const page = await browser.page(broker.url);
  await page.getByLabel('Protocol version').selectOption({ label: 'MQTT 3.1' });
  await connect(page);
  assert.match(await statusLine(page).innerText(), /MQTT 3\.1, new session/);
  await subscribe(page, 'v31/#', '1');

  const form = page.getByRole('region', { name: 'Publish' });
  assert.equal(await form.getByText('MQTT 5 properties').count(), 0, 'no properties before MQTT 5');
  // A 3.1 peer (MQTT.js speaks "MQIsdp" with protocolVersion 3) sees what the page publishes.
  const mqtt = peer('mqtt');
  const peer31 = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`, { protocolVersion: 3, protocolId: 'MQIsdp' });
  try {
    await peer31.subscribeAsync('v31/#', { qos: 1 });
    const got = new Promise((resolve) => peer31.on('message', (t, p) => resolve(`${t}|${p}`)));
    await form.getByLabel('Topic').fill('v31/page');
    await form.getByLabel('QoS').selectOption('1');
    await form.getByLabel('Message').fill('from a 3.1 page');
    await form.getByRole('button', { name: 'Publish' }).click();
    await waitForText(form.getByRole('status'), 'PUBACK');
    assert.equal(await got, 'v31/page|from a 3.1 page');
    const own = messages(page, 'v31/page');
    await own.waitFor();
    assert.match(await own.innerText(), /from a 3\.1 page/);
    assert.match(await own.innerText(), /QoS 1/);

    await peer31.publishAsync('v31/peer', 'from MQTT.js 3.1', { qos: 1 });
    const row = messages(page, 'v31/peer');
    await row.waitFor();
    assert.match(await row.innerText(), /from MQTT\.js 3\.1/);
  } finally {
    await peer31.endAsync();
  }
  assert.deepEqual(browser.errors, []);
});
