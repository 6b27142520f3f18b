// The flame graph in a real browser: headless Chromium, driven by playwright-core, opens the SVGs
// that `test_flamegraph --samples DIR` wrote, hovers, zooms, searches, resets, reopens a view from
// its URL and takes screenshots; walks the DOM of the hostile SVGs that `test_hostile --samples DIR`
// wrote (no script, handler or attribute of theirs); in the differential flame graphs (diff-*.svg, made by
// `cprof diff --svg`) measures the contrast of every frame: fill against the background at least 3:1, a
// border, the label against the fill at least 4.5:1 (WCAG 2), and finds the legend. One line per check;
// exit status 1 when one fails.
//   node tests/flamegraph_browser.cjs DIR            the checks
//   node tests/flamegraph_browser.cjs --shot SVG PNG [NAME]  only a screenshot (the README's), with the
//                                                    details line of frame NAME shown
'use strict';
const { chromium } = require('playwright-core');
const path = require('path');

let failures = 0;
function check(ok, what, got) {
  console.log((ok ? 'ok   ' : 'FAIL ') + what + (ok || got === undefined ? '' : ' (got ' + JSON.stringify(got) + ')'));
  if (!ok) failures++;
}

async function open(browser, file, query) {
  const page = await browser.newPage({ viewport: { width: 1220, height: 400 } });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto('file://' + path.resolve(file) + (query || ''));
  return page;
}

// The frame named `name`: its group, rectangle and label, found by the first line of its tooltip.
async function frame(page, name) {
  const index = await page.evaluate((n) => Array.from(document.querySelectorAll('g.f'))
    .findIndex((g) => g.querySelector('title').textContent.split('\n')[0] === n), name);
  const g = page.locator('g.f').nth(index);
  return { index, g, rect: g.locator('rect'), label: g.locator('text') };
}

async function attributes(f) {
  return {
    x: await f.rect.getAttribute('x'), width: await f.rect.getAttribute('width'), fill: await f.rect.getAttribute('fill'),
    cls: await f.g.getAttribute('class'), label: await f.label.textContent(),
  };
}

async function search(page, text) {
  page.once('dialog', (dialog) => dialog.accept(text));
  await page.keyboard.press('Control+F');
  return page.textContent('#matched');
}

async function known(browser, dir) {
  const page = await open(browser, path.join(dir, 'known.svg'));
  const slow = await frame(page, 'slow'), fast = await frame(page, 'fast'), main = await frame(page, 'main');
  const long = await frame(page, 'a_function_with_a_long_name');
  check(slow.index > 0 && fast.index > 0 && long.index > 0, 'frames found by name');
  await slow.rect.hover();
  const details = await page.textContent('#details');
  check(details === 'slow (synthetic.c:3) time total 80.00 ms, self 77.00 ms, 10 calls, 80.00%', 'hover writes the details line', details);
  check((await attributes(long)).label === 'a_..', 'a narrow frame\'s label is cut with ..', (await attributes(long)).label);
  await page.screenshot({ path: path.join(dir, 'known-hover.png') });

  await slow.rect.click();
  let s = await attributes(slow), m = await attributes(main), f = await attributes(fast), l = await attributes(long);
  check(s.x === '10.00' && s.width === '1180.00', 'click: the frame spans the full width', s);
  check(/parent/.test(m.cls) && m.width === '1180.00', 'click: its ancestors stay, dimmed', m);
  check(/hide/.test(f.cls), 'click: frames outside it are hidden', f.cls);
  check(l.width === '44.25' && l.label === 'a_f..', 'click: children scaled and their labels re-fitted', l);
  check(!/hide/.test(await page.getAttribute('#reset', 'class')), 'click: Reset Zoom appears');
  check(page.url().endsWith('known.svg?x=128&y=72'), 'click: the zoom is in the URL', page.url());
  await page.screenshot({ path: path.join(dir, 'known-zoomed.png') });
  await long.rect.click();
  check((await attributes(long)).label === 'a_function_with_a_long_name', 'zoom on the narrow frame: the whole name');

  await page.click('#reset');
  s = await attributes(slow);
  f = await attributes(fast);
  check(s.x === '128.00' && s.width === '944.00' && !/hide/.test(f.cls), 'Reset Zoom restores the layout', s);
  check(/hide/.test(await page.getAttribute('#reset', 'class')), 'Reset Zoom hides itself');
  check(page.url().endsWith('known.svg'), 'the URL has no zoom after a reset', page.url());

  check(await search(page, 'fast|slow') === 'Matched: 90.0%', 'Ctrl-F search: matched share');
  check((await attributes(fast)).fill === 'rgb(230,0,230)', 'search highlights the matches');
  check(page.url().endsWith('known.svg?s=fast%7Cslow'), 'the search is in the URL', page.url());
  check(await search(page, 'main|slow|long') === 'Matched: 100.0%', 'nested matches counted once');
  await page.keyboard.press('Escape');
  check(await page.textContent('#matched') === '' && (await attributes(fast)).fill !== 'rgb(230,0,230)', 'Escape clears the search');
  check(await search(page, 'SLOW') === 'Matched: 0.0%', 'the search is case-sensitive by default');
  await page.click('#ic');
  check(await page.textContent('#matched') === 'Matched: 80.0%', 'the ic toggle makes it case-insensitive');
  check(page.url().endsWith('?s=SLOW&i=1'), 'the case toggle is in the URL', page.url());
  await page.keyboard.press('Escape');
  await page.click('#ic');
  await search(page, '(');
  check(await page.textContent('#details') === 'Not a regular expression: (', 'a bad regular expression is reported');
  let asked = false;
  page.once('dialog', (dialog) => { asked = dialog.type() === 'prompt'; dialog.dismiss(); });
  await page.click('#search');
  check(asked && await page.textContent('#search') === 'Search', 'the Search button asks for a regular expression');
  check(page.errors.length === 0, 'no script errors', page.errors);
  await page.close();

  const linked = await open(browser, path.join(dir, 'known.svg'), '?s=fast&x=128&y=72');
  check((await attributes(await frame(linked, 'slow'))).width === '1180.00', 'a link reopens the zoom');
  check(await linked.textContent('#matched') === 'Matched: 10.0%', 'a link reopens the search');
  await linked.close();
}

async function others(browser, dir) {
  const inverted = await open(browser, path.join(dir, 'inverted.svg'));
  const slow = await frame(inverted, 'slow');
  await slow.rect.click();
  check((await attributes(slow)).width === '1180.00', 'inverted: click zooms');
  await inverted.close();
  const hostile = await open(browser, path.join(dir, 'hostile.svg'));
  const names = await hostile.evaluate(() => Array.from(document.querySelectorAll('g.f title')).map((t) => t.textContent.split('\n')[0]));
  check(names.length === 4 && names[3].startsWith('a<b>&"c" \'d\' '), 'hostile names: the document parses and shows them', names);
  check(await search(hostile, '<b>') === 'Matched: 80.0%', 'hostile names: searchable');
  check(hostile.errors.length === 0, 'hostile names: no script errors', hostile.errors);
  await hostile.close();
  for (const name of ['live', 'wide', 'calls', 'empty']) {
    const page = await open(browser, path.join(dir, name + '.svg'));
    const count = await page.locator('g.f').count();
    check(page.errors.length === 0 && (name === 'empty' ? count === 0 : count > 3), name + '.svg opens without errors', count);
    await page.screenshot({ path: path.join(dir, name + '.png') });
    await page.close();
  }
}

// The SVGs that tests/test_hostile.c writes: every string of the profile, the title and the metric hold
// markup, an attribute and terminal escapes. Nothing of it may become an element or an attribute.
async function hostileDom(browser, dir) {
  for (const name of ['hostile', 'hostile-profile', 'hostile-options', 'hostile-diff', 'hostile-uncounted']) {
    const page = await open(browser, path.join(dir, name + '.svg'));
    const dom = await page.evaluate(() => {
      const handlers = [];
      for (const e of document.getElementsByTagName('*'))
        for (const a of e.attributes) if (/^on/i.test(a.name)) handlers.push(e.tagName + '.' + a.name);
      return { scripts: document.getElementsByTagName('script').length, handlers,
               pwned: document.documentElement.getAttribute('pwned'), frames: document.querySelectorAll('g.f').length };
    });
    check(dom.scripts === 1, name + '.svg: one script element, cprof\'s', dom.scripts);
    check(dom.handlers.length === 0, name + '.svg: no on* attribute', dom.handlers);
    check(dom.pwned === null, name + '.svg: no injected script ran', dom.pwned);
    const framesExpected = name === 'hostile-uncounted' ? dom.frames === 0 : dom.frames > 3; // else the document did not parse
    check(framesExpected && page.errors.length === 0, name + '.svg: its frames drawn, no script errors', [dom.frames, page.errors]);
    await page.close();
  }
}

// WCAG 2 contrast of two computed colours "rgb(r, g, b)".
function contrast(a, b) {
  const luminance = (text) => {
    const [r, g, bl] = text.match(/\d+(\.\d+)?/g).slice(0, 3).map((v) => {
      const c = +v / 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

async function diffContrast(browser, dir) {
  for (const name of ['diff-after', 'diff-before', 'diff-threads', 'hostile-diff']) {
    const page = await open(browser, path.join(dir, name + '.svg'));
    const frames = await page.evaluate(() => {
      const background = getComputedStyle(document.querySelector('svg > rect')).fill;
      return Array.from(document.querySelectorAll('g.f')).map((g) => {
        const rect = getComputedStyle(g.querySelector('rect')), label = getComputedStyle(g.querySelector('text'));
        return { name: g.querySelector('title').textContent.split('\n')[0], background, fill: rect.fill,
                 stroke: rect.stroke, strokeWidth: parseFloat(rect.strokeWidth), label: label.fill };
      });
    });
    const fills = new Set(frames.map((f) => f.fill));
    const faint = frames.filter((f) => contrast(f.fill, f.background) < 3);
    const borderless = frames.filter((f) => f.stroke === 'none' || !(f.strokeWidth > 0) || contrast(f.stroke, f.background) < 3);
    const unreadable = frames.filter((f) => contrast(f.label, f.fill) < 4.5);
    check(frames.length > 3 && faint.length === 0, name + '.svg: ' + frames.length + ' frames, ' + fills.size +
          ' fills, each at least 3:1 against the background', faint.map((f) => [f.name, f.fill, contrast(f.fill, f.background)]));
    check(borderless.length === 0, name + '.svg: every frame has a dark border', borderless.map((f) => [f.name, f.stroke]));
    check(unreadable.length === 0, name + '.svg: every label at least 4.5:1 against its fill',
          unreadable.map((f) => [f.name, f.label, f.fill, contrast(f.label, f.fill)]));
    const keys = await page.locator('#legend g.key').count();
    check(keys === 4, name + '.svg: a legend of four colours', keys);
    check(page.errors.length === 0, name + '.svg: no script errors', page.errors);
    if (name === 'diff-after') await page.screenshot({ path: path.join(dir, name + '.png') });
    await page.close();
  }
}

async function main() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    if (process.argv[2] === '--shot') {
      const page = await open(browser, process.argv[3]);
      const size = await page.evaluate(() => [+document.documentElement.getAttribute('width'), +document.documentElement.getAttribute('height')]);
      await page.setViewportSize({ width: size[0], height: size[1] });
      if (process.argv[5]) await (await frame(page, process.argv[5])).rect.hover();
      await page.screenshot({ path: process.argv[4] });
    } else {
      await known(browser, process.argv[2]);
      await others(browser, process.argv[2]);
      await hostileDom(browser, process.argv[2]);
      await diffContrast(browser, process.argv[2]);
      console.log(failures ? failures + ' browser checks failed' : 'all browser checks passed');
    }
  } finally {
    await browser.close();
  }
  process.exit(failures ? 1 : 0);
}
main().catch((e) => { console.error(e); process.exit(1); });
