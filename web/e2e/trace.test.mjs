// Issue 11 item 4: the protocol trace lists every packet in order as a table named "Protocol
// trace" (one row per packet, the type in capitals), shows a QoS 2 handshake, expands a row
// into every field and the raw bytes, and can hide pings.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, launchBrowser, connect, subscribe, mosquitto, waitForText } from './harness.mjs';

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

/** The packet types of the trace's rows, in order. */
async function types(table) {
  return table.locator('.ptype').allInnerTexts();
}

test('a QoS 2 exchange appears packet by packet, in order, both ways', async () => {
  const page = await browser.page(broker.url);
  await connect(page);
  await subscribe(page, 'trace/#', '2');
  await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), '-t', 'trace/in', '-m', 'exactly once', '-q', '2']);
  await page.getByRole('tab', { name: 'Trace' }).click();
  const table = page.getByRole('table', { name: 'Protocol trace' });
  await waitForText(table, 'PUBREL');
  await page.waitForFunction(() => document.querySelectorAll('.trace-row:not(.head)').length >= 8);
  assert.deepEqual((await types(table)).slice(0, 8), [
    'CONNECT', 'CONNACK', 'SUBSCRIBE', 'SUBACK', 'PUBLISH', 'PUBREC', 'PUBREL', 'PUBCOMP',
  ]);
  const rows = table.getByRole('row');
  assert.equal(await rows.count(), 9, 'a header row and one row per packet');
  // Directions: the page sends CONNECT, receives CONNACK; receives PUBLISH, answers PUBREC.
  assert.match(await rows.nth(1).innerText(), /page to broker/);
  assert.match(await rows.nth(2).innerText(), /broker to page/);
  assert.match(await rows.nth(2).innerText(), /0 connection accepted/);
  assert.match(await rows.nth(4).innerText(), /granted QoS 2/);
  const publish = rows.nth(5);
  assert.match(await publish.innerText(), /QoS 2/);
  assert.match(await publish.innerText(), /trace\/in · exactly once/);
  const pid = (await publish.getByRole('cell').nth(3).innerText()).trim();
  assert.match(pid, /^\d+$/);
  for (const i of [6, 7, 8]) assert.equal((await rows.nth(i).getByRole('cell').nth(3).innerText()).trim(), pid, 'one packet id for the whole flow');

  // Now the page publishes at QoS 2 itself: PUBLISH → PUBREC ← PUBREL → PUBCOMP ←.
  const form = page.getByRole('region', { name: 'Publish' });
  await form.getByLabel('Topic', { exact: true }).fill('elsewhere/out');
  await form.getByLabel('QoS').selectOption('2');
  await form.getByLabel('Message', { exact: true }).fill('from the page');
  await form.getByRole('button', { name: 'Publish' }).click();
  await waitForText(form.getByRole('status'), 'PUBCOMP');
  await page.waitForFunction(() => document.querySelectorAll('.trace-row:not(.head)').length >= 12);
  assert.deepEqual((await types(table)).slice(8, 12), ['PUBLISH', 'PUBREC', 'PUBREL', 'PUBCOMP']);
  assert.match(await rows.nth(9).innerText(), /page to broker/);
  assert.match(await rows.nth(10).innerText(), /broker to page/);
  assert.deepEqual(browser.errors, []);
});

test('a row expands into every field and the raw bytes in hex', async () => {
  const page = await browser.page(broker.url);
  await connect(page);
  await page.getByRole('tab', { name: 'Trace' }).click();
  const table = page.getByRole('table', { name: 'Protocol trace' });
  await waitForText(table, 'CONNACK');
  await table.getByRole('button', { name: 'Fields of packet 1' }).click();
  const row = table.getByRole('row').nth(1);
  await waitForText(row, 'Client Identifier');
  const text = await row.innerText();
  const clientId = await page.getByLabel('Client ID').inputValue();
  assert.match(text, new RegExp(`Client Identifier\\s+“${clientId}”`));
  assert.match(text, /Keep Alive\s+60 s/);
  assert.match(text, /Protocol\s+MQTT 3\.1\.1/);
  // CONNECT starts with 0x10, then the Remaining Length, then "MQTT" (00 04 4d 51 54 54).
  const hex = await row.getByLabel('Raw bytes').innerText();
  assert.match(hex, /^00000000 {2}10 [0-9a-f]{2} 00 04 4d 51 54 54/);
  assert.match(hex, /\|\.+MQTT/);
  assert.equal(await table.getByRole('button', { name: 'Fields of packet 1' }).getAttribute('aria-expanded'), 'true');
});

test('pings can be hidden', async () => {
  const page = await browser.page(broker.url);
  await page.getByLabel('Keep Alive (s)').fill('2');
  await connect(page);
  await page.getByRole('tab', { name: 'Trace' }).click();
  const table = page.getByRole('table', { name: 'Protocol trace' });
  // Keep-alive 2 s: the page pings after 1.5 s of silence ([MQTT-3.1.2-23]).
  await waitForText(table, 'PINGRESP', 15_000);
  assert.ok((await types(table)).includes('PINGREQ'));
  await page.getByLabel('Hide pings').check();
  await page.waitForFunction(() => ![...document.querySelectorAll('.ptype')].some((e) => e.textContent.startsWith('PING')));
  const left = await types(table);
  assert.deepEqual(left.slice(0, 2), ['CONNECT', 'CONNACK']);
  assert.ok(!left.some((t) => t.startsWith('PING')), left.join());
  await page.getByLabel('Hide pings').uncheck();
  await waitForText(table, 'PINGRESP');
});
