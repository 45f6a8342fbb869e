// Scenario 6: the broker restarts → the page counts down, reconnects by itself, subscribes
// again (clean session: the broker forgot us) and receives again, keeping its message list.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, launchBrowser, connect, subscribe, messages, mosquitto, statusLine, waitForText } from './harness.mjs';

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

test('scenario 6: after a broker restart the page reconnects by itself and receives again', async () => {
  const page = await browser.page(broker.url);
  await connect(page);
  await subscribe(page, 'e2e/#');
  const pub = (msg) =>
    mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), '-t', 'e2e/r', '-m', msg]);
  await pub('before restart');
  await messages(page, 'before restart').waitFor();

  const { tcpPort, httpPort } = broker;
  await broker.stop();
  const status = statusLine(page);
  await waitForText(status, /Reconnecting in \d+ s/);
  assert.match(await status.innerText(), /lost|Could not open/);
  const sub = page.getByRole('region', { name: 'Subscriptions' }).getByRole('listitem').filter({ hasText: 'e2e/#' });

  broker = await startBroker({ tcpPort, httpPort });
  await waitForText(status, 'Connected to', 35_000);
  await waitForText(sub, 'QoS 0 granted');
  // The restarted broker knows no subscriptions: receiving proves the page subscribed again.
  await pub('after restart');
  await messages(page, 'after restart').waitFor();
  assert.equal(await messages(page, 'before restart').count(), 1, 'the message list survived');
});

test('Clean Session off: messages sent while the page was away arrive when it comes back', async () => {
  const page = await browser.page(broker.url);
  const clean = page.getByRole('switch', { name: 'Clean Session' });
  await clean.uncheck();
  await connect(page);
  await subscribe(page, 'e2e/persist/#', '1');
  await page.getByRole('button', { name: 'Disconnect' }).click();
  await waitForText(statusLine(page), 'Disconnected.');
  await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), '-t', 'e2e/persist/x', '-m', 'queued while away', '-q', '1']);
  await connect(page);
  assert.match(await statusLine(page).innerText(), /session resumed/);
  await messages(page, 'queued while away').waitFor();
});
