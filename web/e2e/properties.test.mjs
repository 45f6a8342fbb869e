// MQTT 5 message properties both ways against the real broker: set in the Publish form and
// shown with the received message (and checked on the wire by an MQTT.js v5 subscriber);
// sent by MQTT.js and shown by the page; bad input explained instead of sent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, launchBrowser, connect, subscribe, messages, waitForText, peer } from './harness.mjs';

let broker;
let browser;
let page;
let mqtt;

before(async () => {
  mqtt = peer('mqtt');
  broker = await startBroker();
  browser = await launchBrowser();
  page = await browser.page(broker.url);
  await page.getByLabel('Protocol version').selectOption({ label: 'MQTT 5.0' });
  await connect(page);
  await subscribe(page, 'props/#', '1');
});

after(async () => {
  await browser?.close();
  await broker?.stop();
});

/** The MQTT 5 properties shown under a message row, as [name, value] pairs in order. */
async function shownProperties(row) {
  const list = row.getByRole('group', { name: 'MQTT 5 properties' });
  await list.waitFor();
  const names = await list.getByRole('term').allInnerTexts();
  const values = await list.getByRole('definition').allInnerTexts();
  assert.equal(names.length, values.length);
  return names.map((n, i) => [n, values[i]]);
}

/** An MQTT.js v5 client on the broker's TCP port, subscribed to `filter`; `next()` resolves with the next message. */
async function observer(filter) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`, { protocolVersion: 5 });
  const queue = [];
  const waiting = [];
  client.on('message', (topic, payload, packet) => {
    const m = { topic, payload: payload.toString(), properties: packet.properties ?? {} };
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return {
    client,
    next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve))),
  };
}

test('MQTT 5: properties set in the Publish form reach the broker and show with the received message', async () => {
  const watch = await observer('props/ui');
  try {
    const form = page.getByRole('region', { name: 'Publish' });
    await form.getByText('MQTT 5 properties').click();
    await form.getByLabel('Topic', { exact: true }).fill('props/ui');
    await form.getByLabel('QoS').selectOption('1');
    await form.getByLabel('Message', { exact: true }).fill('{"t":21}');
    await form.getByLabel('Content Type').fill('application/json');
    await form.getByLabel('Message Expiry Interval (s)').fill('120');
    await form.getByLabel('Response Topic').fill('props/replies');
    await form.getByLabel('Correlation Data').fill('req-42');
    await form.getByLabel('Payload is UTF-8 text').check();
    const add = form.getByRole('button', { name: 'Add user property' });
    for (const [i, name, value] of [[1, 'unit', 'C'], [2, 'unit', 'F'], [3, 'gone', 'x']]) {
      await add.click();
      await form.getByLabel(`User property ${i} name`).fill(name);
      await form.getByLabel(`User property ${i} value`).fill(value);
    }
    await form.getByRole('button', { name: 'Remove user property 3' }).click();
    assert.equal(await form.getByLabel('User property 3 name').count(), 0);

    // Bad input is explained and not sent.
    await form.getByLabel('Response Topic').fill('props/#');
    await form.getByRole('button', { name: 'Publish', exact: true }).click();
    await waitForText(form.getByRole('status'), 'Not sent: Response Topic is a topic name');
    assert.equal(await form.getByLabel('Response Topic').getAttribute('aria-invalid'), 'true');
    await form.getByLabel('Message Expiry Interval (s)').fill('soon');
    await waitForText(form, 'Message Expiry Interval is a whole number of seconds');
    await form.getByLabel('Message Expiry Interval (s)').fill('120');
    await form.getByLabel('Response Topic').fill('props/replies');
    assert.equal(await form.getByLabel('Response Topic').getAttribute('aria-invalid'), null);

    await form.getByRole('button', { name: 'Publish', exact: true }).click();
    await waitForText(form.getByRole('status'), 'PUBACK');

    // On the wire: the first message the observer gets is the good one, with every property.
    const m = await watch.next();
    assert.equal(m.payload, '{"t":21}');
    const p = m.properties;
    assert.equal(p.contentType, 'application/json');
    assert.equal(p.responseTopic, 'props/replies');
    assert.equal(Buffer.from(p.correlationData).toString(), 'req-42');
    assert.equal(p.payloadFormatIndicator, true);
    assert.ok(p.messageExpiryInterval > 100 && p.messageExpiryInterval <= 120, String(p.messageExpiryInterval));
    assert.deepEqual({ ...p.userProperties }, { unit: ['C', 'F'] });

    // In the page's own message list (it subscribed to props/#).
    const row = messages(page, 'props/ui');
    await row.waitFor();
    const shown = await shownProperties(row);
    const expiry = shown.find(([n]) => n === 'Message Expiry');
    assert.match(expiry?.[1] ?? '', /^1[01]\d s$|^120 s$/);
    assert.deepEqual(
      shown.filter(([n]) => n !== 'Message Expiry'),
      [
        ['Content Type', 'application/json'],
        ['Payload Format', 'UTF-8'],
        ['Response Topic', 'props/replies'],
        ['Correlation Data', 'req-42'],
        ['User Property', 'unit = C'],
        ['User Property', 'unit = F'],
      ],
    );
  } finally {
    await watch.client.endAsync();
  }
  assert.deepEqual(browser.errors, []);
});

test('MQTT 5: a message MQTT.js publishes with properties shows them; one without shows none', async () => {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`, { protocolVersion: 5 });
  try {
    await client.publishAsync('props/js', 'plain', { qos: 1 });
    await client.publishAsync('props/js/rich', Buffer.from([0xde, 0xad]), {
      qos: 1,
      properties: {
        contentType: 'application/octet-stream',
        payloadFormatIndicator: false,
        messageExpiryInterval: 3600,
        responseTopic: 'props/js/answer',
        correlationData: Buffer.from([0x00, 0x01, 0xfe]),
        userProperties: { site: 'lab', tag: ['a', 'b'] },
      },
    });
  } finally {
    await client.endAsync();
  }
  const rich = messages(page, 'props/js/rich');
  await rich.waitFor();
  const shown = await shownProperties(rich);
  assert.match(shown.find(([n]) => n === 'Message Expiry')?.[1] ?? '', /^3[56]\d\d s$/);
  assert.deepEqual(
    shown.filter(([n]) => n !== 'Message Expiry'),
    [
      ['Content Type', 'application/octet-stream'],
      ['Payload Format', 'unspecified bytes'],
      ['Response Topic', 'props/js/answer'],
      ['Correlation Data', 'hex 00 01 fe'],
      ['User Property', 'site = lab'],
      ['User Property', 'tag = a'],
      ['User Property', 'tag = b'],
    ],
  );
  const plain = messages(page, 'plain');
  await plain.waitFor();
  assert.equal(await plain.getByRole('group', { name: 'MQTT 5 properties' }).count(), 0);
  assert.deepEqual(browser.errors, []);
});
