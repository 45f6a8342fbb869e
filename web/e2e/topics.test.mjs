// Issue 11 item 1 and 2: the Topics tab shows every topic seen as a tree (role=tree "Topics",
// treeitems named by their level, with count and last value), searchable; selecting a topic
// shows its values, what changed, a live chart (role=img "Chart…"); "Clear retained" clears
// the broker's retained message after a confirmation.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, launchBrowser, connect, subscribe, mosquitto, waitForText } from './harness.mjs';

let broker;
let browser;
let page;

before(async () => {
  broker = await startBroker();
  browser = await launchBrowser();
  page = await browser.page(broker.url);
  await connect(page);
  // Retained before anyone subscribes: the broker sends it with RETAIN set ([MQTT-3.3.1-8]).
  await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), '-t', 'house/garage/door', '-m', 'open', '-r']);
  await subscribe(page, 'house/#');
});

after(async () => {
  await browser?.close();
  await broker?.stop();
});

const pub = (...args) => mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), ...args]);

test('topics appear as a tree with counts and last values', async () => {
  await pub('-t', 'house/kitchen/temp', '-m', '{"t":21.5,"h":40}');
  await pub('-t', 'house/kitchen/temp', '-m', '{"t":22.0,"h":41}');
  await page.getByRole('tab', { name: 'Topics', exact: true }).click();
  assert.equal(await page.getByRole('tab', { name: 'Topics' }).getAttribute('aria-selected'), 'true');
  const tree = page.getByRole('tree', { name: 'Topics' });
  await tree.waitFor();
  const house = tree.getByRole('treeitem', { name: /^house/ });
  await waitForText(house, '3 messages');
  // Top levels start open; deeper levels open by keyboard.
  const kitchen = tree.getByRole('treeitem', { name: /^kitchen/ });
  await kitchen.waitFor();
  assert.equal(await kitchen.getAttribute('aria-expanded'), 'false');
  await tree.focus();
  await tree.press('ArrowDown'); // house → garage
  await tree.press('ArrowDown'); // kitchen
  await tree.press('ArrowRight'); // open kitchen
  const temp = tree.getByRole('treeitem', { name: /^temp/ });
  await temp.waitFor();
  const text = await temp.innerText();
  assert.match(text, /2 messages/);
  assert.match(text, /"t":22\.0/);
  assert.match(await temp.getAttribute('aria-label'), /^temp, 2 messages/);
  assert.equal(await temp.getAttribute('aria-level'), '3');
  const door = tree.getByRole('treeitem', { name: /^door/ });
  await tree.getByRole('treeitem', { name: /^garage/ }).click();
  await door.waitFor();
  assert.match(await door.innerText(), /retained/);
  assert.match(await door.innerText(), /open/);
  assert.deepEqual(browser.errors, []);
});

test('search shows matching topics with their parents; expand and collapse all', async () => {
  const tree = page.getByRole('tree', { name: 'Topics' });
  await page.getByLabel('Search topics').fill('door');
  await waitForText(tree, 'door');
  const names = async () => (await tree.getByRole('treeitem').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label').split(',')[0])));
  assert.deepEqual(await names(), ['house', 'garage', 'door']);
  await page.getByLabel('Search topics').fill('');
  await page.getByRole('button', { name: 'Collapse all' }).click();
  await tree.getByRole('treeitem', { name: /^garage/ }).waitFor({ state: 'detached' });
  assert.deepEqual(await names(), ['house']);
  await page.getByRole('button', { name: 'Expand all' }).click();
  await tree.getByRole('treeitem', { name: /^temp/ }).waitFor();
  assert.equal((await names()).length, 5);
});

test('selecting a topic shows its values, the JSON diff and a live chart of its numbers', async () => {
  const tree = page.getByRole('tree', { name: 'Topics' });
  await tree.getByRole('treeitem', { name: /^temp/ }).click();
  const details = page.locator('.topic-details');
  await waitForText(details, 'house/kitchen/temp');
  assert.match(await details.innerText(), /t\s+21\.5 → 22\.0/);
  assert.match(await details.innerText(), /h\s+40 → 41/);
  const chart = page.getByRole('img', { name: /^Chart/ });
  await waitForText(page.locator('.legend'), 'house/kitchen/temp · t');
  assert.match(await chart.getAttribute('aria-label'), /^Chart: house\/kitchen\/temp · t \(last 22\), house\/kitchen\/temp · h \(last 41\)/);
  // New values extend the series.
  await pub('-t', 'house/kitchen/temp', '-m', '{"t":23.25,"h":42}');
  await page.waitForFunction(() => /last 23\.25/.test(document.querySelector('svg.chart')?.getAttribute('aria-label') ?? ''));
  const points = await page.locator('svg.chart polyline').first().getAttribute('points');
  assert.equal(points.trim().split(/\s+/).length, 3, points);
  // Unticking a field removes its series.
  await details.getByRole('checkbox', { name: 'h' }).uncheck();
  await page.waitForFunction(() => !/· h/.test(document.querySelector('svg.chart')?.getAttribute('aria-label') ?? ''));
  // Hovering over the newest point reads its value (the drawing is 800 units wide).
  await page.locator('.chart-box').scrollIntoViewIfNeeded();
  const box = await page.locator('.chart-box').boundingBox();
  const line = await page.locator('svg.chart polyline').first().getAttribute('points');
  const lastX = Number(line.trim().split(/\s+/).at(-1).split(',')[0]);
  await page.mouse.move(box.x + (lastX * box.width) / 800, box.y + box.height / 2);
  await waitForText(page.locator('.readout'), 'house/kitchen/temp · t: 23.25');
});

test('Clear retained asks first, then removes the broker\'s retained message', async () => {
  const sub = () => mosquitto('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.tcpPort), '-t', 'house/garage/door', '-C', '1', '-W', '2']);
  assert.equal((await sub()).trim(), 'open', 'retained before');
  const tree = page.getByRole('tree', { name: 'Topics' });
  await tree.getByRole('treeitem', { name: /^door/ }).click();
  await page.getByRole('button', { name: 'Clear retained' }).click();
  const dialog = page.getByRole('alertdialog', { name: 'Clear retained message?' });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await sub()).trim(), 'open', 'Cancel keeps it');
  await page.getByRole('button', { name: 'Clear retained' }).click();
  await dialog.getByRole('button', { name: 'Yes, clear it' }).click();
  await assert.rejects(sub(), /failed/, 'no retained message any more (mosquitto_sub times out)');
  await waitForText(tree.getByRole('treeitem', { name: /^door/ }), '2 messages');
  assert.doesNotMatch(await tree.getByRole('treeitem', { name: /^door/ }).innerText(), /retained/);
});

test('"Publish to this topic" fills in the Publish form', async () => {
  await page.getByRole('treeitem', { name: /^temp/ }).click();
  await page.getByRole('button', { name: 'Publish to this topic' }).click();
  const form = page.getByRole('region', { name: 'Publish' });
  assert.equal(await form.getByLabel('Topic', { exact: true }).inputValue(), 'house/kitchen/temp');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'pub-message');
});
