// Time to first screen of the web app served by `relais serve`, in Debian's
// Chromium headless at phone size, against a baseline served by the same
// process in the same browser: a static page of one labelled input and no
// script (the least a login screen can be). Run by first_screen_bench.sh,
// which starts `relais serve`; docs/performance.md explains the figures.
//
// Timed from the navigation's start (performance.timeOrigin) to the moment
// the screen's input is in the page and visible, as the page itself sees
// it, so that the browser's own start-up is not counted:
//   cold   a new browser context: nothing cached, no service worker;
//   warm   a reload once the service worker holds the app shell;
//   capture   logged in, a reload of the capture screen until its form
//             shows (the session and events asked from the API).
//
// env: RELAIS_BENCH_URL (the app), RELAIS_BENCH_USER, RELAIS_BENCH_PASSWORD,
//      RELAIS_BENCH_RUNS (default 20), RELAIS_CHROMIUM (default /usr/bin/chromium)
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { chromium } = createRequire(join(root, 'clients', 'web', 'package.json'))('playwright-core');

const BASE = process.env.RELAIS_BENCH_URL;
const USER = process.env.RELAIS_BENCH_USER;
const PASSWORD = process.env.RELAIS_BENCH_PASSWORD;
const RUNS = Number(process.env.RELAIS_BENCH_RUNS || 20);
if (!BASE || !USER || !PASSWORD) {
  console.error('first_screen.mjs: set RELAIS_BENCH_URL, RELAIS_BENCH_USER and '
    + 'RELAIS_BENCH_PASSWORD');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.RELAIS_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

function phone() {
  return browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    locale: 'fr-FR',
  });
}

async function shown(page, selector) {
  await page.locator(selector).waitFor({ state: 'visible', timeout: 30_000 });
}

// Records in the page, from then on, the first time `selector` becomes
// visible after each navigation, so that the figure does not include the
// benchmark's own delays.
async function watch(page, selector) {
  await page.addInitScript((sel) => {
    const check = () => {
      if (window.__relaisShown) return;
      const el = document.querySelector(sel);
      if (el && el.getClientRects().length) window.__relaisShown = performance.now();
      else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  }, selector);
}

// Loads `url` (or reloads the page) and returns when `selector` first showed.
async function timed(page, selector, url) {
  if (url) await page.goto(url);
  else await page.reload();
  await shown(page, selector);
  // The page's own check runs on the next frame.
  return (await page.waitForFunction(() => window.__relaisShown)).jsonValue();
}

function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p90: at(0.9), max: s[s.length - 1] };
}

function line(key, value, digits = 1) {
  console.log(`${key}: ${typeof value === 'number' ? value.toFixed(digits) : value}`);
}

async function cold(url, selector) {
  const out = [];
  for (let i = 0; i < RUNS; ++i) {
    const context = await phone();
    const page = await context.newPage();
    await watch(page, selector);
    out.push(await timed(page, selector, url));
    await context.close();
  }
  return out;
}

// `prepare` runs once before the timed reloads, on the screen `before` shows.
async function warm(url, selector, prepare, before = selector) {
  const context = await phone();
  const page = await context.newPage();
  await page.goto(url);
  await shown(page, before);
  if (prepare) await prepare(page);
  await watch(page, selector);
  const out = [];
  for (let i = 0; i < RUNS; ++i) out.push(await timed(page, selector));
  await context.close();
  return out;
}

const workerReady = (page) => page.evaluate(() => navigator.serviceWorker?.ready);

async function login(page) {
  await page.fill('#login-user', USER);
  await page.fill('#login-password', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await shown(page, '#capture-form');
  await workerReady(page);
}

const baselineUrl = `${BASE}/baseline.html`;
const appUrl = `${BASE}/`;
console.log(`# first_screen: Chromium ${browser.version()}, ${RUNS} runs each, `
  + 'phone viewport 390x844');
await warm(baselineUrl, '#baseline-input');  // untimed: the server's and browser's first requests

const rows = [
  ['baseline.cold', await cold(baselineUrl, '#baseline-input')],
  ['app.login.cold', await cold(appUrl, '#login-user')],
  ['baseline.warm', await warm(baselineUrl, '#baseline-input')],
  ['app.login.warm', await warm(appUrl, '#login-user', workerReady)],
  ['app.capture.warm', await warm(`${appUrl}#/capture`, '#capture-form', login, '#login-user')],
];
const figures = {};
for (const [name, values] of rows) {
  figures[name] = summary(values);
  line(`${name}.p50_ms`, figures[name].p50);
  line(`${name}.p90_ms`, figures[name].p90);
  line(`${name}.max_ms`, figures[name].max);
}
const ratio = (a, b) => figures[a].p50 / figures[b].p50;
line('ratio.login_cold_vs_baseline_p50', ratio('app.login.cold', 'baseline.cold'), 2);
line('ratio.login_warm_vs_baseline_p50', ratio('app.login.warm', 'baseline.warm'), 2);
line('ratio.capture_warm_vs_baseline_p50', ratio('app.capture.warm', 'baseline.warm'), 2);
await browser.close();
