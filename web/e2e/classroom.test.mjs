// Issue 11 item 5: the share link (as text and as a QR code, role=img "QR code") opens the
// page connected and subscribed with each subscription's QoS and never carries the
// password; presenter mode shows the chosen views in large type; the guided lesson runs
// each step's experiment against the real broker and explains it; the filter tester.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, launchBrowser, connect, subscribe, statusLine, waitForText, mosquitto, messages } from './harness.mjs';

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

test('the class link and its QR code open the page connected and subscribed, without the password', async () => {
  const page = await browser.page(broker.url);
  await page.getByText('Credentials', { exact: true }).click();
  await page.getByLabel('Username').fill('teacher');
  await page.getByLabel('Password', { exact: true }).fill('chalk-42');
  await connect(page);
  await subscribe(page, 'class/#', '1');
  await subscribe(page, 'quiz/+', '2');
  await page.getByRole('tab', { name: 'Lesson' }).click();
  const qr = page.getByRole('img', { name: 'QR code' });
  await qr.waitFor();
  const link = await page.getByLabel('Class link').inputValue();
  assert.match(link, /sub=class\/%23&sub_qos=1&sub=quiz\/%2B&sub_qos=2&connect=1$/);
  assert.doesNotMatch(link, /chalk|teacher|password|client_id/);
  // The QR symbol: a square of modules 17 + 4v wide plus a 4-module quiet zone each side.
  const size = Number((await qr.getAttribute('viewBox')).split(' ')[2]);
  assert.equal((size - 8 - 17) % 4, 0, `viewBox ${size}`);

  const student = await browser.context.browser().newContext();
  try {
    const phone = await student.newPage();
    await phone.goto(link);
    await waitForText(statusLine(phone), 'Connected to');
    const subs = phone.getByRole('region', { name: 'Subscriptions' });
    await waitForText(subs.getByRole('listitem').filter({ hasText: 'class/#' }), 'QoS 1 granted');
    await waitForText(subs.getByRole('listitem').filter({ hasText: 'quiz/+' }), 'QoS 2 granted');
    assert.equal(await phone.getByLabel('Password', { exact: true }).inputValue(), '');
    await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), '-t', 'class/board', '-m', 'welcome', '-q', '1']);
    await messages(phone, 'welcome').waitFor();
  } finally {
    await student.close();
  }
});

test('presenter mode shows the chosen views in large type and Escape leaves it', async () => {
  const page = await browser.page(broker.url);
  await page.getByRole('tab', { name: 'Lesson' }).click();
  await page.getByLabel('Broker view').check();
  await page.getByLabel('Messages view').uncheck();
  const button = page.getByRole('button', { name: 'Presenter mode' });
  await button.click();
  assert.equal(await button.getAttribute('aria-pressed'), 'true');
  await page.getByRole('table', { name: 'Protocol trace' }).waitFor();
  await page.getByRole('region', { name: 'Broker statistics' }).waitFor();
  assert.equal(await page.getByRole('region', { name: 'Subscriptions' }).count(), 0, 'the side panels are hidden');
  const size = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
  assert.ok(size >= 24, `font size ${size}`);
  await page.keyboard.press('Escape');
  await page.getByRole('tab', { name: 'Messages' }).waitFor();
  assert.equal(await button.getAttribute('aria-pressed'), 'false');
});

test('the filter tester answers with the codec\'s rules', async () => {
  const page = await browser.page(broker.url);
  await page.getByRole('tab', { name: 'Lesson' }).click();
  await page.getByRole('button', { name: '2. Wildcards: + and #' }).click();
  const result = page.getByRole('status', { name: 'Match result' });
  await waitForText(result, '✓ Matches');
  await page.getByLabel('Topic to test').fill('house/room1/side-light');
  await waitForText(result, '✗ Does not match');
  assert.match(await result.innerText(), /level 3/);
  await page.getByLabel('Filter to test').fill('house/#');
  await waitForText(result, '✓ Matches');
  await page.getByLabel('Filter to test').fill('#');
  await page.getByLabel('Topic to test').fill('$SYS/broker/uptime');
  await waitForText(result, 'MQTT-4.7.2-1');
});

test('every lesson step runs its experiment against the broker and explains it', async () => {
  const page = await browser.page(broker.url);
  await connect(page);
  await page.getByRole('tab', { name: 'Lesson' }).click();
  const result = page.getByRole('status', { name: 'Experiment result' });
  const expect = [
    /granting QoS 0.*Hello, class!/s,
    /2 of the 5 messages arrived.*Exactly what the matching rules predict.*house\/#: 5 of the 5/s,
    /QoS 0: PUBLISH →.*QoS 1: PUBLISH →, PUBACK ←.*QoS 2: PUBLISH →, PUBREC ←, PUBREL →, PUBCOMP ←/s,
    /got it at once, marked retained.*a new subscription got nothing/s,
    /published the will/,
    /keep-alive 2 s.*closed it/s,
    /session present/,
  ];
  for (let i = 0; i < expect.length; i++) {
    await page.getByRole('button', { name: /^Run: / }).click();
    await result.locator('.outcome.good, .outcome.bad').waitFor({ timeout: 20_000 });
    const text = await result.innerText();
    assert.match(text, expect[i], `step ${i + 1}: ${text}`);
    assert.match(text, /^✓/, `step ${i + 1} as the lecture says: ${text}`);
    if (i + 1 < expect.length) await page.getByRole('button', { name: 'Next step' }).click();
  }
  // The lesson's own messages stay out of the message list.
  await page.getByRole('tab', { name: 'Messages' }).click();
  assert.equal(await messages(page, 'tern-lesson').count(), 0);
  assert.deepEqual(browser.errors, []);
});
