// A locked-down broker (password_file made by mosquitto_passwd, acl_file) used from the page
// the way a teacher would: a wrong password is explained and not retried, the right one
// connects, and the ACL shows up as a refused subscription and a rejected publish.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startBroker, launchBrowser, connect, subscribe, messages, statusLine, waitForText, mosquitto,
} from './harness.mjs';

let dir;
let broker;
let browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tern-auth-e2e-'));
  const passwd = join(dir, 'passwd');
  await mosquitto('mosquitto_passwd', ['-b', '-c', passwd, 'teacher', 'chalk-42']);
  const acl = join(dir, 'acl');
  writeFileSync(acl, 'user teacher\ntopic readwrite class/#\ntopic read news/#\n');
  const config = join(dir, 'tern.toml');
  writeFileSync(config, `password_file = ${JSON.stringify(passwd)}\nacl_file = ${JSON.stringify(acl)}\n`);
  broker = await startBroker({ args: ['--config', config] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function credentials(page, user, password) {
  const summary = page.getByText('Credentials', { exact: true });
  if (!(await page.getByLabel('Username').isVisible())) await summary.click();
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
}

for (const [label, version, code] of [
  ['MQTT 3.1.1', '3.1.1', /CONNACK return code 4/],
  ['MQTT 5.0', '5', /CONNACK reason code 0x86/],
]) {
  test(`${label}: a wrong password is refused with the reason and not retried`, async () => {
    const page = await browser.page(broker.url);
    await page.getByLabel('Protocol version').selectOption(version);
    await credentials(page, 'teacher', 'wrong');
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const status = statusLine(page);
    await waitForText(status, 'refused the connection');
    const text = await status.innerText();
    assert.match(text, code);
    assert.match(text, /Check the user name and password/);
    // Not transient: the page must not count down to a reconnect.
    assert.doesNotMatch(text, /Reconnecting|retry/i);
    await page.close();
  });
}

test('the right password connects; the ACL refuses a subscription and a publish', async () => {
  const page = await browser.page(broker.url);
  await page.getByLabel('Protocol version').selectOption('5');
  await credentials(page, 'teacher', 'chalk-42');
  await connect(page);

  await subscribe(page, 'class/#', '1');
  const subs = page.getByRole('region', { name: 'Subscriptions' });
  await subs.getByLabel('Topic filter').fill('secret/#');
  await subs.getByRole('button', { name: 'Subscribe', exact: true }).click();
  await waitForText(subs.getByRole('listitem').filter({ hasText: 'secret/#' }), /refused: 0x87/);

  const form = page.getByRole('region', { name: 'Publish' });
  await form.getByLabel('Topic', { exact: true }).fill('news/today');
  await form.getByLabel('QoS').selectOption('1');
  await form.getByLabel('Message', { exact: true }).fill('not mine to write');
  await form.getByRole('button', { name: 'Publish' }).click();
  await waitForText(form.getByRole('status'), /rejected the message to news\/today: 0x87/);

  // Allowed both ways: published by mosquitto_pub with the same credentials, shown by the page.
  await mosquitto('mosquitto_pub', [
    '-h', '127.0.0.1', '-p', String(broker.tcpPort), '-u', 'teacher', '-P', 'chalk-42',
    '-t', 'class/board', '-q', '1', '-m', 'homework: chapter 3',
  ]);
  const row = messages(page, 'class/board');
  await row.waitFor({ timeout: 10_000 });
  assert.match(await row.innerText(), /homework: chapter 3/);
  await page.close();
});
