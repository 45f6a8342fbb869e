// Measures the shipped app: raw, gzip -9 and brotli sizes of the wasm + JS in a Trunk dist
// (TERN_DIST or the first argument). Exits non-zero above the 250 KB gzip budget.
//
//   node web/e2e/bundle-size.mjs dist

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const BUDGET_GZIP = 250 * 1024;
const dist = process.argv[2] ?? process.env.TERN_DIST;
if (!dist) {
  console.error('usage: node web/e2e/bundle-size.mjs <dist dir> (or set TERN_DIST)');
  process.exit(2);
}
const files = readdirSync(dist).filter((f) => f.endsWith('.wasm') || f.endsWith('.js'));
if (!files.some((f) => f.endsWith('.wasm'))) {
  console.error(`no .wasm in ${dist}: build it first (cargo xtask dist)`);
  process.exit(2);
}
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
let total = { raw: 0, gzip: 0, brotli: 0 };
for (const f of files) {
  const data = readFileSync(join(dist, f));
  const gzip = gzipSync(data, { level: 9 }).length;
  const brotli = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  total = { raw: total.raw + data.length, gzip: total.gzip + gzip, brotli: total.brotli + brotli };
  console.log(`${f.padEnd(40)} ${kb(data.length).padStart(10)} raw ${kb(gzip).padStart(10)} gzip ${kb(brotli).padStart(10)} brotli`);
}
console.log(`${'total (wasm + js)'.padEnd(40)} ${kb(total.raw).padStart(10)} raw ${kb(total.gzip).padStart(10)} gzip ${kb(total.brotli).padStart(10)} brotli`);
console.log(`budget ${kb(BUDGET_GZIP)} gzip: ${total.gzip <= BUDGET_GZIP ? 'within' : 'OVER'}`);
process.exit(total.gzip <= BUDGET_GZIP ? 0 : 1);
