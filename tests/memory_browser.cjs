// The memory chart (`cprof memory P.json`) in a real browser: headless Chromium, driven by playwright-core,
// opens the SVG that the Makefile made from examples/heap_phases.c's profile and checks it against the
// profile's JSON: a column per point of the series plus the peak's, in time order, each with the JSON's
// total and its layers summing to it; the peak marked where the program made it (its bytes and time
// from the JSON, the largest column, build_index's 4,096,000 B and load_table's 1,024,000 B live then,
// the dot on top of the stack); hover writes a column's figures; every fill at least 3:1 against the
// background (WCAG 2); no script error. One line per check; exit status 1 when one fails.
//   node tests/memory_browser.cjs CHART.svg PROFILE.json [SCREENSHOT.png]
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

let failures = 0;
function check(ok, what, got) {
  console.log((ok ? 'ok   ' : 'FAIL ') + what + (ok || got === undefined ? '' : ' (got ' + JSON.stringify(got) + ')'));
  if (!ok) failures++;
}

function contrast(a, b) { // WCAG 2 contrast of two computed colours "rgb(r, g, b)"
  const luminance = (text) => {
    const [r, g, b] = text.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((c) => c / 255);
    const linear = (c) => (c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4));
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

const digits = (text) => (text === '0' ? 0 : Number(text.replace(/[^0-9]/g, '')));

async function main() {
  const [svg, json, shot] = process.argv.slice(2);
  const profile = JSON.parse(fs.readFileSync(json, 'utf8'));
  const a = profile.allocations;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('file://' + path.resolve(svg));
    const columns = await page.evaluate(() => Array.from(document.querySelectorAll('rect.col')).map((r) => ({
      x: +r.getAttribute('data-x'), ns: +r.getAttribute('data-ns'), bytes: +r.getAttribute('data-bytes'),
      values: r.getAttribute('data-values').split(';'), peak: r.id === 'peak-column' })));
    check(columns.length === a.memory.length + 1, 'a column per point of the series and one for the peak',
          [columns.length, a.memory.length]);
    const series = columns.filter((c) => !c.peak);
    check(series.every((c, i) => c.bytes === a.memory[i].live_bytes && c.ns === a.memory[i].time_ns),
          'the columns\' totals and times are the JSON\'s points\'');
    check(columns.every((c, i) => i === 0 || c.x >= columns[i - 1].x), 'columns in time order');
    check(columns.every((c) => c.values.reduce((s, v) => s + digits(v), 0) === c.bytes), 'each column\'s layers sum to its total');

    const peak = await page.evaluate(() => {
      const g = document.getElementById('peak');
      return { bytes: +g.getAttribute('data-bytes'), ns: +g.getAttribute('data-ns'), x: +g.getAttribute('data-x'),
               y: +g.getAttribute('data-y'), label: g.querySelector('text').textContent };
    });
    check(peak.bytes === a.peak_live_bytes && peak.bytes === 5120000, 'the peak marked: 5,120,000 B, the JSON\'s', peak.bytes);
    check(peak.ns === a.peak_ns && peak.label === 'peak 5,120,000 B at ' + peak.label.split(' at ')[1], 'its time the JSON\'s, its label',
          [peak.ns, peak.label]);
    const peakColumn = columns.find((c) => c.peak);
    check(peakColumn && Math.abs(peakColumn.x - peak.x) < 0.01 && columns.every((c) => c.bytes <= peak.bytes),
          'the peak column is at the mark and no column is higher');
    const layers = await page.evaluate(() => cprofLayers); // eslint-disable-line no-undef
    const at = (name) => digits(peakColumn.values[layers.findIndex((l) => l.includes(name))]);
    check(at('build_index') === 4096000 && at('load_table') === 1024000, 'live at the peak: build_index 4,096,000 B, load_table 1,024,000 B',
          [at('build_index'), at('load_table')]);
    const tops = await page.evaluate(() => {
      const areas = Array.from(document.querySelectorAll('polygon.area'));
      return areas.map((p) => p.getAttribute('points').split(' ').map((xy) => xy.split(',').map(Number)));
    });
    const top = tops[tops.length - 1][columns.indexOf(peakColumn)];
    check(Math.abs(top[0] - peak.x) < 0.01 && Math.abs(top[1] - peak.y) < 0.01, 'the dot sits on top of the stack', [top, peak]);

    await page.locator('#peak-column').hover();
    const details = await page.textContent('#details');
    check(details.startsWith('at ') && details.includes(': 5,120,000 B live') && details.includes('build_index 4,096,000 B'),
          'hover writes the column\'s figures', details);
    check(!/hide/.test(await page.getAttribute('#cursor', 'class') || ''), 'hover shows the cursor line');

    const fills = await page.evaluate(() => {
      const background = getComputedStyle(document.querySelector('rect')).fill;
      return Array.from(document.querySelectorAll('polygon.area')).map((p) => [getComputedStyle(p).fill, background]);
    });
    const faint = fills.filter(([fill, background]) => contrast(fill, background) < 3);
    check(fills.length === layers.length && faint.length === 0, fills.length + ' areas, each at least 3:1 against the background', faint);
    check(await page.locator('g.legend').count() === layers.length, 'a legend row per area');
    check(errors.length === 0, 'no script errors', errors);
    if (shot) {
      const size = await page.evaluate(() => [+document.documentElement.getAttribute('width'), +document.documentElement.getAttribute('height')]);
      await page.setViewportSize({ width: size[0], height: size[1] });
      await page.screenshot({ path: shot });
    }
  } finally {
    await browser.close();
  }
  console.log(failures ? failures + ' browser checks failed' : 'all browser checks passed');
  process.exit(failures ? 1 : 0);
}
main().catch((e) => { console.error(e); process.exit(1); });
