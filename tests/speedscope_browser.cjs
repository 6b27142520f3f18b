// A speedscope file cprof wrote, opened in speedscope itself (the npm package's dist/release, served on
// 127.0.0.1 with the file) in headless Chromium: speedscope imports it as its own format without an error,
// the picker shows the first profile and counts them all, the sandwich view lists each of its functions. Usage: node speedscope_browser.cjs FILE.speedscope.json SCREENSHOT.png
const { chromium } = require('playwright-core');
const http = require('http');
const fs = require('fs');
const path = require('path');

const release = path.join(path.dirname(require.resolve('speedscope/package.json')), 'dist', 'release');
const [file, screenshot] = process.argv.slice(2);
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

const server = http.createServer((request, response) => {
  const url = decodeURIComponent(request.url.split('?')[0]);
  const local = url === '/profile.json' ? file : path.join(release, path.normalize(url).replace(/^(\.\.[/\\])+/, ''));
  fs.readFile(local, (error, data) => {
    if (error) { response.writeHead(404); response.end(); return; }
    response.writeHead(200, { 'Content-Type': types[path.extname(local)] || 'application/octet-stream' });
    response.end(data);
  });
});

(async () => {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const expected = JSON.parse(fs.readFileSync(file, 'utf8'));
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
    const imported = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => imported.push(m.text()));
    await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(base + '/profile.json')}`);
    const first = `${expected.profiles[0].name} (1/${expected.profiles.length})`; // the profile picker
    await page.waitForFunction((name) => document.body.innerText.includes(name), first, { timeout: 15000 });
    if (!imported.includes('Importing as speedscope json file')) errors.push('speedscope did not read it as its own format');
    if (!(await page.title()).startsWith(expected.name)) errors.push(`the title is "${await page.title()}"`);
    // the sandwich view lists every function of the first profile by name, in the DOM (not a canvas)
    await page.getByText('Sandwich').click();
    const frames = expected.profiles[0].samples.flat().map((i) => expected.shared.frames[i].name);
    await page.waitForFunction((name) => document.body.innerText.includes(name), frames[0], { timeout: 15000 });
    const table = await page.evaluate(() => document.body.innerText);
    for (const name of new Set(frames)) if (!table.includes(name)) errors.push(`the sandwich view does not list ${name}`);
    if (screenshot) await page.screenshot({ path: screenshot });
    console.log(`speedscope opened ${path.basename(file)}: ${expected.profiles.length} profiles, "${first}" shown, ` +
                `${new Set(frames).size} functions in its sandwich view`);
  } finally {
    await browser.close();
    server.close();
  }
  if (errors.length) { console.log(errors.join('\n')); process.exit(1); }
})().catch((e) => { console.log(String(e)); process.exit(1); });
