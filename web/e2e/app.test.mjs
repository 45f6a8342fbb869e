// The page the broker serves loads, renders, and connects with one click over a WebSocket
// to /mqtt with the `mqtt` subprotocol (issue 5 acceptance, issue 4 scenario 1).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, launchBrowser, connect, statusLine, waitForText, watchHandshakes } from './harness.mjs';

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

test('the page loads and the Leptos app renders its four panels', async () => {
  const page = await browser.page();
  const response = await page.goto(broker.url);
  assert.equal(response.status(), 200);
  for (const name of ['Connection', 'Subscriptions', 'Publish', 'Messages']) {
    await page.getByRole('heading', { name, exact: true }).waitFor({ timeout: 15_000 });
  }
  const text = await page.locator('body').innerText();
  assert.ok(text.length > 200, `page text is only ${text.length} characters`);
  // Defaults come from the page's own location, so one click connects.
  assert.equal(await page.getByLabel('Host').inputValue(), '127.0.0.1');
  assert.equal(await page.getByLabel('Port').inputValue(), String(broker.httpPort));
  assert.equal(await page.getByLabel('Path').inputValue(), '/mqtt');
  assert.match(await page.getByLabel('Client ID').inputValue(), /^tern-[a-z0-9]{8}$/);
  assert.deepEqual(browser.errors, []);
});

test('scenario 1: Connect opens ws://…/mqtt with subprotocol mqtt and the status says connected', async () => {
  const page = await browser.page();
  const handshakes = await watchHandshakes(page);
  await page.goto(broker.url);
  await connect(page);
  assert.equal(handshakes.length, 1, JSON.stringify(handshakes));
  const [h] = handshakes;
  assert.equal(h.url, `ws://127.0.0.1:${broker.httpPort}/mqtt`);
  assert.equal(h.status, 101);
  assert.equal(h.requestHeaders['sec-websocket-protocol'], 'mqtt');
  assert.equal(h.responseHeaders['sec-websocket-protocol'], 'mqtt');
  assert.match(await statusLine(page).innerText(), /connected.*MQTT 3\.1\.1/is);
  await page.getByRole('button', { name: 'Disconnect' }).click();
  await waitForText(statusLine(page), 'Disconnected.');
  assert.deepEqual(browser.errors, []);
});

test('MQTT 5.0 can be chosen and connects', async () => {
  const page = await browser.page(broker.url);
  await page.getByLabel('Protocol version').selectOption({ label: 'MQTT 5.0' });
  await connect(page);
  assert.match(await statusLine(page).innerText(), /MQTT 5\.0/);
});

test('a wrong path is explained in words and retried with a visible countdown', async () => {
  const page = await browser.page(broker.url);
  await page.getByLabel('Path').fill('/not-mqtt');
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  const status = statusLine(page);
  await waitForText(status, 'Could not open a WebSocket');
  assert.match(await status.innerText(), /path/);
  assert.match(await status.innerText(), /Reconnecting in \d+ s/);
  await page.getByRole('button', { name: 'Stop' }).click();
  await waitForText(status, 'Disconnected.');
});

test('URL parameters prefill the form and can connect and subscribe at once', async () => {
  // What "Share link" produces, plus connect=1 and a publish topic.
  const q = new URLSearchParams({ host: '127.0.0.1', port: String(broker.httpPort), path: '/mqtt', sub: 'class/#', topic: 'class/ann', connect: '1' });
  const page = await browser.page(`${broker.url}?${q}`);
  await waitForText(statusLine(page), 'Connected to');
  const subs = page.getByRole('region', { name: 'Subscriptions' });
  await waitForText(subs.getByRole('listitem').filter({ hasText: 'class/#' }), 'QoS 0 granted');
  const publish = page.getByRole('region', { name: 'Publish' });
  assert.equal(await publish.getByLabel('Topic', { exact: true }).inputValue(), 'class/ann');
});
