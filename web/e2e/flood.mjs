// Benchmark (not a test): an inbound flood of RATE msg/s for SECONDS against one page, measuring
// in Chromium how the page copes — animation-frame intervals, long tasks (> 50 ms), and how long
// the main thread takes to answer a probe — and whether every message arrived.
//
//   TERN_BIN=… TERN_DIST=dist NODE_PATH=~/.cache/tern/node/node_modules node web/e2e/flood.mjs
//   (env RATE=2000 SECONDS=10 PAYLOAD=json|text TOPICS=10 VIEW=Messages|Topics|Trace)
//
// TOPICS spreads the messages over that many topics (flood/b<k>/s<i>, 100 per branch); VIEW
// is the tab shown during the flood. Memory: the JS heap and the wasm linear memory (where
// the log, the topic tree and the trace live).

import { startBroker, launchBrowser, connect, subscribe, peer } from './harness.mjs';

const RATE = Number(process.env.RATE ?? 2000);
const SECONDS = Number(process.env.SECONDS ?? 10);
const PAYLOAD = process.env.PAYLOAD ?? 'json';
const TOPICS = Number(process.env.TOPICS ?? 10);
const VIEW = process.env.VIEW ?? 'Messages';
const topicOf = (n) => (TOPICS <= 10 ? `flood/sensor${n % TOPICS}` : `flood/b${Math.floor((n % TOPICS) / 100)}/s${n % TOPICS}`);

const pct = (xs, p) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round = (x) => Math.round(x * 10) / 10;

const broker = await startBroker();
const browser = await launchBrowser();
const mqtt = peer('mqtt');
let publisher;
try {
  const page = await browser.page(broker.url);
  await connect(page);
  await subscribe(page, 'flood/#');
  await page.getByRole('tab', { name: VIEW, exact: true }).click();

  await page.evaluate(() => {
    const perf = { frames: [], longtasks: [], stop: false };
    window.__perf = perf;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) perf.longtasks.push(e.duration);
    }).observe({ type: 'longtask' });
    let last = performance.now();
    const loop = (t) => {
      perf.frames.push(t - last);
      last = t;
      if (!perf.stop) requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  });

  publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`);
  const start = Date.now();
  let sent = 0;
  const probes = [];
  const flood = new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Date.now() - start;
      const due = Math.min(RATE * SECONDS, Math.floor((elapsed * RATE) / 1000));
      while (sent < due) {
        const body =
          PAYLOAD === 'json'
            ? JSON.stringify({ seq: sent, t: Date.now(), temp: 20 + (sent % 50) / 10, ok: sent % 2 === 0 })
            : `message ${sent}`;
        publisher.publish(topicOf(sent), body, { qos: 0 });
        sent++;
      }
      if (sent >= RATE * SECONDS) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  // Probe the page's main thread while the flood runs.
  const probing = (async () => {
    while (sent < RATE * SECONDS) {
      const t = performance.now();
      await page.evaluate(() => 0);
      probes.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await flood;
  await probing;
  const floodMs = Date.now() - start;

  // A person's action during the aftermath: Pause must answer promptly.
  const topicsSeen = await page.evaluate(() => document.querySelector('.topics-panel .summary')?.textContent ?? null);
  await page.getByRole('tab', { name: 'Messages', exact: true }).click();
  const clickStart = performance.now();
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('button', { name: /^Resume/ }).waitFor();
  const pauseMs = performance.now() - clickStart;

  // Wait (bounded) for the page to have counted every message: kept + dropped.
  const deadline = Date.now() + 10_000;
  let received = 0;
  while (Date.now() < deadline) {
    await page.getByRole('button', { name: /^Resume/ }).click();
    const summary = await page.locator('.summary').innerText();
    const kept = Number(/^(\d+) kept/.exec(summary)?.[1] ?? 0);
    const dropped = Number(/(\d+) dropped/.exec(summary)?.[1] ?? 0);
    received = kept + dropped;
    if (received >= sent) break;
    await page.getByRole('button', { name: 'Pause' }).click();
    await new Promise((r) => setTimeout(r, 200));
  }

  const perf = await page.evaluate(() => {
    window.__perf.stop = true;
    return {
      frames: window.__perf.frames,
      longtasks: window.__perf.longtasks,
      heapMB: performance.memory ? performance.memory.usedJSHeapSize / 1048576 : null,
      wasmMB: window.wasmBindings?.memory_bytes ? window.wasmBindings.memory_bytes() / 1048576 : null,
      domNodes: document.getElementsByTagName('*').length,
    };
  });
  const frames = perf.frames.slice(1);
  const result = {
    rate_msgs_per_s: RATE,
    seconds: SECONDS,
    payload: PAYLOAD,
    sent,
    received_by_page: received,
    achieved_rate: Math.round((sent / floodMs) * 1000),
    frames: frames.length,
    fps: round(frames.length / ((floodMs + pauseMs) / 1000)),
    frame_ms: { p50: round(pct(frames, 50)), p95: round(pct(frames, 95)), p99: round(pct(frames, 99)), max: round(Math.max(...frames)) },
    long_tasks: {
      count: perf.longtasks.length,
      total_ms: Math.round(perf.longtasks.reduce((a, b) => a + b, 0)),
      max_ms: Math.round(Math.max(0, ...perf.longtasks)),
    },
    main_thread_probe_ms: { p50: round(pct(probes, 50)), p95: round(pct(probes, 95)), max: round(Math.max(...probes)) },
    pause_click_ms: Math.round(pauseMs),
    dom_nodes_after: perf.domNodes,
    js_heap_mb_after: perf.heapMB && round(perf.heapMB),
    wasm_memory_mb_after: perf.wasmMB && round(perf.wasmMB),
    topics: TOPICS,
    view_during_flood: VIEW,
    topic_tree_summary: topicsSeen,
    page_errors: browser.errors,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await publisher?.endAsync();
  await browser.close();
  await broker.stop();
}
