// Browser test of the Relais web app against two running `relais serve`
// (replicas A and B of one site, synced through the same relais-server).
//
//   RELAIS_WEB_A=http://127.0.0.1:8080 RELAIS_WEB_B=http://127.0.0.1:8081 \
//   RELAIS_USER=samia RELAIS_PASSWORD=... RELAIS_EVENT_TITLE="Forum emploi" \
//   [RELAIS_SCREENSHOTS=/tmp/shots] npm run test:e2e
//
// Uses Debian's Chromium through playwright-core (no browser download).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = process.env;
const A = env.RELAIS_WEB_A;
const B = env.RELAIS_WEB_B || env.RELAIS_WEB_A;
const USER = env.RELAIS_USER;
const PASSWORD = env.RELAIS_PASSWORD;
const EVENT_TITLE = env.RELAIS_EVENT_TITLE;
const SHOTS = env.RELAIS_SCREENSHOTS;
const CHROMIUM = env.RELAIS_CHROMIUM || '/usr/bin/chromium';

const missing = ['RELAIS_WEB_A', 'RELAIS_USER', 'RELAIS_PASSWORD', 'RELAIS_EVENT_TITLE'].filter((name) => !env[name]);
const skip = missing.length ? `set ${missing.join(', ')}` : false;

// A person nobody else has: a random phone, and a name with accents so that
// the search without them is tested.
const token = Math.random().toString().slice(2, 10).padEnd(8, '7');
const PHONE = `06 ${token.slice(0, 2)} ${token.slice(2, 4)} ${token.slice(4, 6)} ${token.slice(6, 8)}`;
const PHONE_FRAGMENT = PHONE.replace(/\s/g, '').slice(0, 7); // 06 + 5 digits
const FIRST = 'Inès';
const LAST = 'Lefèvre';
const NOTE = `Veut découvrir la cuisine (e2e ${token})`;

let browser;
if (SHOTS) mkdirSync(SHOTS, { recursive: true });

async function shot(page, name) {
  if (!SHOTS) return;
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false, animations: 'disabled' });
}

async function phone() {
  return browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'fr-FR',
  });
}

async function login(page, base, name) {
  await page.goto(base + '/');
  await page.locator('#login-user').waitFor();
  if (name) await shot(page, name);
  await page.fill('#login-user', USER);
  await page.fill('#login-password', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.locator('.login-layer').waitFor({ state: 'detached' });
}

async function goto(page, route) {
  await page.evaluate((r) => { location.hash = r; }, route);
}

// Types a query and waits for a result that names our person's phone.
async function searchFor(page, query, timeout = 5000) {
  await page.fill('#search-q', '');
  await page.fill('#search-q', query);
  const hit = page.locator('#search-results a', { hasText: PHONE.replace(/\s/g, '') })
    .or(page.locator('#search-results a', { hasText: PHONE }));
  await hit.first().waitFor({ timeout });
  return hit.first();
}

before(async () => {
  if (skip) return;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => { await browser?.close(); });

test('capture, find, follow up and sync a young person', { skip, timeout: 180_000 }, async (t) => {
  const context = await phone();
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  let personId;
  let referralId;

  await t.test('log in on A', async () => {
    await login(page, A, 'login');
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    await page.locator('#capture-form').waitFor();
  });

  await t.test('capture shows the server\'s message beside a bad field and keeps the rest', async () => {
    // The capture form is the home screen, with the first name focused.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'capture-first_name');
    assert.equal(await page.getAttribute('#capture-phone', 'inputmode'), 'tel');
    const option = page.locator('#capture-event option', { hasText: EVENT_TITLE }).first();
    await option.waitFor({ state: 'attached' });
    await page.selectOption('#capture-event', await option.getAttribute('value'));
    await page.fill('#capture-first_name', FIRST);
    await page.fill('#capture-last_name', LAST);
    await page.fill('#capture-phone', PHONE);
    await page.fill('#capture-email', 'ines.lefevre-pas-un-courriel');
    await page.fill('#capture-birth_date', '14/05/2008');
    await page.locator('label.chip', { hasText: 'restauration' }).click();
    await page.check('#capture-consent-referral');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'capture');
    await page.click('#capture-submit');
    const error = page.locator('#capture-email-error');
    await error.waitFor();
    assert.match(await error.innerText(), /e-?mail/i);
    assert.equal(await page.getAttribute('#capture-email', 'aria-invalid'), 'true');
    assert.equal(await page.inputValue('#capture-first_name'), FIRST);
    assert.equal(await page.inputValue('#capture-last_name'), LAST);
    assert.equal(await page.inputValue('#capture-phone'), PHONE);
    assert.ok(await page.isChecked('#capture-consent-referral'));
    await shot(page, 'capture-error');
  });

  await t.test('capture a young person at the event with consent to referral', async () => {
    await page.fill('#capture-email', '');
    await page.click('#capture-submit');
    await page.locator('.toast', { hasText: FIRST }).waitFor();
    // Ready for the next one: empty form, same event.
    assert.equal(await page.inputValue('#capture-first_name'), '');
    const chosen = await page.$eval('#capture-event', (s) => s.options[s.selectedIndex]?.text || '');
    assert.ok(chosen.includes(EVENT_TITLE));
  });

  await t.test('find them by a phone fragment and by a name without accents', async () => {
    await goto(page, '/search');
    await page.locator('#search-q').waitFor();
    await searchFor(page, PHONE_FRAGMENT);
    const hit = await searchFor(page, 'ines lefevre');
    await shot(page, 'search');
    await hit.click();
    await page.locator('#person-name', { hasText: `${FIRST} ${LAST}` }).waitFor();
    personId = await page.getAttribute('section.person', 'data-id');
    assert.ok(personId);
    assert.equal(await page.getAttribute('#consent-referral', 'data-status'), 'given');
  });

  await t.test('add an interaction', async () => {
    assert.equal(await page.inputValue('#interaction-date'), await page.evaluate(() => {
      const d = new Date();
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    }));
    await page.selectOption('#interaction-channel', 'phone');
    await page.fill('#interaction-note', NOTE);
    await page.click('#interaction-submit');
    await page.locator('#timeline li', { hasText: NOTE }).waitFor();
  });

  await t.test('add a referral and move it to the next stage', async () => {
    await page.click('#referral-new');
    const programmes = await page.$$eval('#referral-programme option', (os) => os.map((o) => o.value).filter(Boolean));
    if (programmes.length) await page.selectOption('#referral-programme', programmes[0]);
    await page.click('#referral-submit');
    const card = page.locator('#referrals li[data-stage="identified"]').first();
    await card.waitFor();
    referralId = await card.getAttribute('data-id');
    if (SHOTS) {
      // The page as it opens: the top, once the "saved" message has gone.
      await page.locator('.toast').waitFor({ state: 'detached', timeout: 8000 }).catch(() => {});
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, 'person');
    }
    await card.locator('button.advance').click();
    await page.locator(`#referrals li[data-id="${referralId}"][data-stage="contacted"]`).waitFor();
  });

  await t.test('the pipeline shows it in the new stage', async () => {
    await goto(page, '/pipeline');
    await page.locator(`#pipeline [data-stage="contacted"] li[data-id="${referralId}"]`).waitFor();
    assert.equal(await page.locator(`#pipeline [data-stage="identified"] li[data-id="${referralId}"]`).count(), 0);
    await shot(page, 'pipeline');
  });

  await t.test('the event lists the young person met there', async () => {
    await goto(page, '/events');
    await page.locator('#events-list a', { hasText: EVENT_TITLE }).first().waitFor();
    await shot(page, 'events');
    await page.locator('#events-list a', { hasText: EVENT_TITLE }).first().click();
    await page.locator(`#event-persons a[href="#/person/${personId}"]`).waitFor();
  });

  await t.test('tasks and sync screens open; the badge is shown', async () => {
    await goto(page, '/tasks');
    await page.locator('.screen.tasks .hint').waitFor();
    await shot(page, 'tasks');
    await goto(page, '/sync');
    await page.locator('#sync-details').waitFor();
    await shot(page, 'sync');
    assert.doesNotMatch(await page.locator('#sync-badge').innerText(), /injoignable/);
  });

  await t.test('the language switch changes the labels and the lang attribute', async () => {
    await goto(page, '/capture');
    await page.click('header .lang-switch');
    await page.locator('label[for="capture-first_name"]', { hasText: 'First name' }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.click('header .lang-switch');
    await page.locator('label[for="capture-first_name"]', { hasText: 'Prénom' }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
  });

  await t.test('an expired session asks to log in, then resends the save', async () => {
    await goto(page, `/person/${personId}`);
    await page.locator('#interaction-note').waitFor();
    await context.clearCookies();
    const note = `Après reconnexion (e2e ${token})`;
    await page.fill('#interaction-note', note);
    await page.click('#interaction-submit');
    await page.locator('#login-password').waitFor();
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.locator('#timeline li', { hasText: note }).waitFor();
  });

  await t.test('offline: the app still opens, says the replica is out of reach, and keeps a capture', async () => {
    // The service worker must control the page, with the shell in its cache,
    // for the app to open offline.
    await page.evaluate(() => navigator.serviceWorker?.ready);
    await page.waitForFunction(async () => navigator.serviceWorker.controller !== null
      && (await caches.keys()).length > 0 && (await caches.match('/')) !== undefined);
    await context.setOffline(true);
    try {
      await page.reload();
      await page.locator('header.topbar').waitFor();  // the app runs: now change screen
      await goto(page, '/capture');
      await page.locator('#capture-form').waitFor().catch(async (error) => {
        const shown = await page.evaluate(() => document.body?.innerText ?? '(no body)')
          .catch(() => '(page not readable)');
        throw new Error(`${error.message}\nthe page showed: ${shown.slice(0, 600)}`);
      });
      await page.locator('#unreachable-banner').waitFor();
      await page.fill('#capture-first_name', 'Hors');
      await page.fill('#capture-last_name', `Ligne${token}`);
      await page.click('#capture-submit');
      await page.locator('#outbox-notice').waitFor();
      await shot(page, 'offline');
    } finally {
      await context.setOffline(false);
    }
    // Sent by itself once the replica answers again (the 5 s sync poll).
    await page.locator('#outbox-notice').waitFor({ state: 'detached', timeout: 20_000 });
    await goto(page, '/search');
    await page.fill('#search-q', `ligne${token}`);
    await page.locator('#search-results a', { hasText: 'Hors' }).waitFor();
  });

  await context.close();

  await t.test('on B, the young person arrives through the server, with the interaction', async () => {
    const contextB = await phone();
    const pageB = await contextB.newPage();
    pageB.setDefaultTimeout(10_000);
    try {
      await login(pageB, B);
      await goto(pageB, '/search');
      await pageB.locator('#search-q').waitFor();
      const deadline = Date.now() + 25_000;
      let hit = null;
      while (!hit) {
        try {
          hit = await searchFor(pageB, PHONE_FRAGMENT, 2000);
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`not on B after 25 s: ${error.message}`);
        }
      }
      await hit.click();
      await pageB.locator('#person-name', { hasText: `${FIRST} ${LAST}` }).waitFor();
      assert.equal(await pageB.getAttribute('section.person', 'data-id'), personId);
      // The interaction may come a moment after the person: reload until it does.
      const until = Date.now() + 15_000;
      while (!(await pageB.locator('#timeline li', { hasText: NOTE }).count())) {
        if (Date.now() > until) assert.fail('the interaction did not reach B');
        await pageB.waitForTimeout(1000);
        await pageB.reload();
        await pageB.locator('#person-name').waitFor();
      }
    } finally {
      await contextB.close();
    }
  });
});
