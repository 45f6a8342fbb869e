// Scenarios 3 and 4: publishing from the page reaches other clients (QoS 1 + Retain checked
// with mosquitto_sub), and two pages talk to each other. Also the form's validation.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, launchBrowser, connect, subscribe, messages, mosquitto, waitForText, peer } from './harness.mjs';

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

test('scenario 3: publish with QoS 1 and Retain → mosquitto_sub -C 1 receives it (retained)', async () => {
  const page = await browser.page(broker.url);
  await connect(page);
  const form = page.getByRole('region', { name: 'Publish' });
  await form.getByLabel('Topic').fill('e2e/ui/retained');
  await form.getByLabel('QoS').selectOption('1');
  await form.getByLabel('Retain').check();
  await form.getByLabel('Message').fill('from the browser ✓');
  await form.getByRole('button', { name: 'Publish' }).click();
  await waitForText(form.getByRole('status'), 'PUBACK');
  // Subscribing afterwards proves the broker kept it as retained.
  const out = await mosquitto('mosquitto_sub', [
    '-h', '127.0.0.1', '-p', String(broker.tcpPort),
    '-t', 'e2e/ui/retained', '-q', '1', '-C', '1', '-W', '10', '-F', '%r|%q|%t|%p',
  ]);
  assert.equal(out.trim(), '1|1|e2e/ui/retained|from the browser ✓');
});

test('inline validation blocks bad topics; Ctrl+Enter publishes', async () => {
  const page = await browser.page(broker.url);
  await connect(page);
  const form = page.getByRole('region', { name: 'Publish' });
  const topic = form.getByLabel('Topic');
  await topic.fill('e2e/+/bad');
  await waitForText(form, 'Wildcards (+ and #) are only allowed when subscribing');
  assert.equal(await topic.getAttribute('aria-invalid'), 'true');
  await topic.fill('');
  await form.getByRole('button', { name: 'Publish' }).click();
  await waitForText(form, 'Enter a topic to publish to.');

  const mqtt = peer('mqtt');
  const observer = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`);
  try {
    await observer.subscribeAsync('e2e/keys');
    const received = new Promise((resolve) => observer.on('message', (t, p) => resolve(`${t}|${p}`)));
    await topic.fill('e2e/keys');
    await form.getByLabel('Message').fill('sent with the keyboard');
    await form.getByLabel('Message').press('Control+Enter');
    assert.equal(await received, 'e2e/keys|sent with the keyboard');
  } finally {
    await observer.endAsync();
  }
});

test('scenario 4: two pages — one publishes, the other receives', async () => {
  const reader = await browser.page(broker.url);
  const writer = await browser.page(broker.url);
  const [idR, idW] = [await reader.getByLabel('Client ID').inputValue(), await writer.getByLabel('Client ID').inputValue()];
  assert.notEqual(idR, idW, 'each tab has its own client id');
  await connect(reader);
  await connect(writer);
  await subscribe(reader, 'room/#', '1');
  const form = writer.getByRole('region', { name: 'Publish' });
  await form.getByLabel('Topic').fill('room/1');
  await form.getByLabel('Message').fill('hello from the other page');
  await form.getByRole('button', { name: 'Publish' }).click();
  const row = messages(reader, 'room/1');
  await row.waitFor();
  assert.match(await row.innerText(), /hello from the other page/);
  assert.equal(await messages(writer, 'room/1').count(), 0, 'the writer did not subscribe');
});

test('QoS 2 both ways: the page completes PUBREC/PUBREL/PUBCOMP and receives QoS 2', async () => {
  const page = await browser.page(broker.url);
  await connect(page);
  await subscribe(page, 'e2e/q2/#', '2');
  await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), '-t', 'e2e/q2/in', '-m', 'exactly once', '-q', '2']);
  const row = messages(page, 'e2e/q2/in');
  await row.waitFor();
  assert.match(await row.innerText(), /QoS 2/);

  const form = page.getByRole('region', { name: 'Publish' });
  await form.getByLabel('Topic').fill('e2e/q2/out');
  await form.getByLabel('QoS').selectOption('2');
  await form.getByLabel('Message').fill('from the page at QoS 2');
  await form.getByRole('button', { name: 'Publish' }).click();
  await waitForText(form.getByRole('status'), 'PUBCOMP');
  const echoed = messages(page, 'e2e/q2/out');
  await echoed.waitFor();
  assert.match(await echoed.innerText(), /QoS 2/);
  assert.equal(await messages(page, 'e2e/q2/').count(), 2, 'each message delivered once');
});
