// dialpad.mjs drives gophone's web dialpad in Debian's Chromium (headless,
// through playwright-core; no browser is downloaded) against a real
// `gophone serve` daemon "A". It is run by test/integration/web_test.go,
// which owns the daemons: where a check needs the far end (daemon "B") or a
// restart of A, the script prints `STEP name [arg]` on stdout and waits for
// the Go test's `OK [data]` or `FAIL reason` on stdin. Any failed check
// exits non-zero, which fails the Go test.
//
// Environment: GOPHONE_URL (A's http://host:port/), GOPHONE_TOKEN (A's API
// token), GOPHONE_FAR_URI (B's SIP URI), GOPHONE_CALLER_NAME and
// GOPHONE_CALLER_NUMBER (how A sees B), GOPHONE_TRANSFER_URI (daemon C,
// which answers), GOPHONE_OUT_WAV (an output device
// path to switch to), GOPHONE_SCREENSHOTS (a directory), CHROMIUM
// (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const URL_ = env('GOPHONE_URL');
const TOKEN = env('GOPHONE_TOKEN');
const FAR = env('GOPHONE_FAR_URI');
const CALLER_NAME = env('GOPHONE_CALLER_NAME');
const CALLER_NUMBER = env('GOPHONE_CALLER_NUMBER');
const OUT_WAV = env('GOPHONE_OUT_WAV');
const TRANSFER = env('GOPHONE_TRANSFER_URI');
const SHOTS = env('GOPHONE_SCREENSHOTS');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

// ---- talking to the Go test -------------------------------------------

const replies = [];
const waiting = [];
createInterface({ input: process.stdin }).on('line', (line) => {
  const w = waiting.shift();
  if (w) w(line);
  else replies.push(line);
});

/** step asks the Go test to do something and returns its reply's data. */
async function step(name, arg = '') {
  process.stdout.write(`STEP ${name}${arg ? ' ' + arg : ''}\n`);
  const line = replies.length ? replies.shift() : await new Promise((r) => waiting.push(r));
  if (line.startsWith('FAIL')) throw new Error(`step ${name}: ${line.slice(5)}`);
  return line.slice(3);
}

const log = (...a) => process.stderr.write(a.join(' ') + '\n');

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  log('ok:', what);
}

// ---- helpers ------------------------------------------------------------

// axe-core checks a view for accessibility faults (labels, names, ARIA,
// contrast). Its source is evaluated through the DevTools protocol, which
// the page's Content-Security-Policy does not govern.
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

async function a11y(page, view) {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  for (const v of found) log(`axe (${view}): ${v.impact} ${v.id}: ${v.help} — ${v.nodes.join(', ')}`);
  check(found.length === 0, `axe finds no accessibility fault in the ${view} view` +
    (found.length ? ` (${found.map((v) => `${v.impact} ${v.id}`).join(', ')})` : ''));
}

async function shoot(page, name) {
  await a11y(page, name);
  const size = page.viewportSize();
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`) });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(size);
}

/** apiFromPage calls the API from the page, as the page would (cookie only). */
function apiFromPage(page, method, path) {
  return page.evaluate(async ([m, p]) => {
    const r = await fetch(p, { method: m, credentials: 'same-origin' });
    return { status: r.status, body: await r.text() };
  }, [method, path]);
}

async function status(page) {
  const r = await apiFromPage(page, 'GET', '/v1/status');
  check(r.status === 200, `GET /v1/status with the session cookie answers 200 (got ${r.status})`);
  return JSON.parse(r.body).result;
}

async function waitFor(what, fn, timeout = 10000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- scenarios ----------------------------------------------------------

// wrongToken: the sign-in page says so, nothing of the API answers, and no
// token ever shows in a URL.
async function wrongToken() {
  const ctx = await launch();
  const page = await ctx.newPage();
  const urls = [];
  const apiOK = [];
  page.on('request', (r) => urls.push(r.url()));
  page.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/v1/') && r.status() < 400) apiOK.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(URL_);
  await page.getByLabel('API token').waitFor();
  check(await page.locator('#app').isHidden(), 'signed out, the phone is not shown');
  const wrong = 'wrong-' + TOKEN.slice(0, 6) + '-token';
  await page.getByLabel('API token').fill(wrong);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#signin-error', { hasText: 'that token is wrong' }).waitFor();
  check(true, `wrong token: the sign-in page says "${await page.textContent('#signin-error')}"`);
  await a11y(page, 'sign-in');
  const probe = await apiFromPage(page, 'GET', '/v1/status');
  check(probe.status === 401, `after a wrong token GET /v1/status answers 401 (got ${probe.status})`);
  const dial = await apiFromPage(page, 'POST', '/v1/calls');
  check(dial.status === 401 || dial.status === 403, `after a wrong token POST /v1/calls is refused (got ${dial.status})`);
  check(apiOK.length === 0, `no API call succeeded with a wrong token (${apiOK.join(', ') || 'none'})`);
  check(!(await ctx.cookies()).some((c) => c.name.includes('session')), 'no session cookie was set');
  check(!page.url().includes(wrong) && !page.url().includes('token='), `the page URL carries no token (${page.url()})`);
  check(!urls.some((u) => u.includes(wrong) || u.includes(TOKEN)), `no request URL carries a token (${urls.length} requests)`);
  await ctx.close();
}

async function signIn(page) {
  await page.getByLabel('API token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#connection', { hasText: 'Live' }).waitFor();
}

async function keyboardDialOut(page) {
  // Digits typed with no field focused go to the number field.
  await page.locator('body').focus();
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.keyboard.type('12#');
  await page.keyboard.press('Backspace');
  check(await page.inputValue('#number') === '12', 'digits typed anywhere go to the number field, Backspace deletes');
  await page.fill('#number', '');
  // Dial by keyboard: type the address, Enter.
  await page.focus('#number');
  await page.keyboard.type(FAR);
  await page.keyboard.press('Enter');
  const call = page.locator('#calls li.call').first();
  await call.waitFor();
  await step('far-rings');
  await page.locator('#calls li.call .state', { hasText: /Outgoing · (Ringing|Calling)/ }).waitFor();
  check(true, 'an outgoing call dialled by keyboard shows in the call list, its state in words');
  // Hang up by keyboard: the call's controls come right after the header
  // in the focus order.
  await page.getByRole('button', { name: 'Sign out' }).focus();
  await page.keyboard.press('Tab');
  check(await call.locator('[data-act="hangup"]').evaluate((b) => b === document.activeElement),
    'Tab from the header reaches the ringing call\'s Hang up');
  await page.keyboard.press('Enter');
  await page.locator('#no-calls').waitFor({ state: 'visible' });
  await step('far-ended');
  check(true, 'Hang up by keyboard ended the call at both ends');
}

async function incomingCall(page) {
  await step('far-dials');
  const banner = page.locator('#banner .incoming');
  await banner.waitFor();
  const text = await banner.innerText();
  check(text.includes(CALLER_NAME) && text.includes(CALLER_NUMBER),
    `the incoming-call banner names the caller: "${text.replace(/\s+/g, ' ')}"`);
  check(await page.getAttribute('#banner', 'aria-live') === 'assertive', 'the banner is an aria-live region');
  check((await page.title()).startsWith(`Incoming call from ${CALLER_NAME}`), `the tab's title says so: "${await page.title()}"`);
  await shoot(page, 'ringing');
  await banner.getByRole('button', { name: /^Answer/ }).click();
  const call = page.locator('#calls li.call[data-state="established"]');
  await call.waitFor();
  await call.locator('.state', { hasText: 'Connected' }).waitFor();
  check(await banner.count() === 0, 'answered, the banner is gone');
  check(true, 'a click on Answer established the call, shown as "Connected"');

  // The timer runs.
  const timer = call.locator('.timer');
  await waitFor('the call timer', async () => /^\d+:\d\d$/.test(await timer.innerText()));
  const t1 = await timer.innerText();
  await page.waitForTimeout(2200);
  const t2 = await timer.innerText();
  check(/^\d+:\d\d$/.test(t2) && t2 !== t1, `the call timer runs (${t1} then ${t2})`);

  // DTMF from the keypad reaches the far end.
  await call.getByRole('button', { name: 'Keypad' }).click();
  check(await call.getByRole('button', { name: 'Keypad' }).getAttribute('aria-expanded') === 'true', 'Keypad is expanded');
  for (const d of ['1', '2', '#']) {
    await call.getByRole('button', { name: `Send DTMF ${d}`, exact: true }).click();
    await call.locator('.sent-digits', { hasText: `Sent: ${'12#'.slice(0, '12#'.indexOf(d) + 1)}` }).waitFor();
  }
  // Digits typed on the open keypad are sent too.
  await call.getByRole('button', { name: 'Send DTMF 1', exact: true }).focus();
  await page.keyboard.type('907');
  await call.locator('.sent-digits', { hasText: 'Sent: 12#907' }).waitFor();
  check(await page.inputValue('#number') === '', 'a digit typed on the keypad goes to the call, not the number field');
  await step('far-heard-dtmf', '12#907');
  check(true, 'the DTMF keypad sent 1 2 # (clicks) and 9 0 7 (typed fast) and the far end received them in order');
  await step('far-sends-dtmf', '4*');
  await call.locator('.heard-digits', { hasText: 'Received: 4*' }).waitFor();
  check(true, 'DTMF from the far end is shown as it arrives (Received: 4*)');
  await shoot(page, 'in-call');

  // Hold and resume, in words.
  await call.getByRole('button', { name: 'Hold' }).click();
  await call.locator('.state', { hasText: 'on hold' }).waitFor();
  await step('far-held');
  await call.getByRole('button', { name: 'Resume' }).click();
  await call.locator('.state', { hasText: /Connected( ·|$)/ }).waitFor();
  await step('far-resumed');
  check(true, 'Hold and Resume change the call and say so');

  // Mute toggles, shown in words.
  await call.getByRole('button', { name: 'Mute' }).click();
  await call.getByRole('button', { name: 'Unmute' }).waitFor();
  check((await status(page)).audio.muted === true, 'Mute mutes the microphone');
  await call.getByRole('button', { name: 'Unmute' }).click();
  await call.getByRole('button', { name: 'Mute' }).waitFor();
  check((await status(page)).audio.muted === false, 'Unmute unmutes it');

  // Audio panel: volume and mic sliders, an output device.
  await page.getByRole('tab', { name: 'Audio' }).click();
  await page.getByLabel('Speaker volume').fill('40');
  await page.getByLabel('Microphone level').fill('70');
  await waitFor('the levels to be set', async () => {
    const au = (await status(page)).audio;
    return au.volume === 40 && au.micVolume === 70;
  });
  check(true, 'the volume and microphone sliders set the levels');
  await page.getByLabel('Output device', { exact: true }).selectOption('file:PATH.wav');
  await page.getByLabel('Output device id').fill('file:' + OUT_WAV);
  await page.locator('form.device[data-direction="output"] button[type="submit"]').click();
  await waitFor('the output device to switch', async () => (await status(page)).audio.output === 'file:' + OUT_WAV);
  check(true, 'the output device picker switched the device mid-call');
  await page.getByLabel('Output device', { exact: true }).selectOption('file:PATH.wav');
  await page.getByLabel('Output device id').fill('file:/nonexistent-dir/x.wav');
  await page.locator('form.device[data-direction="output"] button[type="submit"]').click();
  await page.locator('#notice', { hasText: /failed: .*no_such_device/ }).waitFor();
  check(true, `a refused device is explained in words: "${await page.textContent('#notice')}"`);

  // Hang up: the call ends and is in the history.
  await call.getByRole('button', { name: 'Hang up' }).click();
  await page.locator('#no-calls').waitFor({ state: 'visible' });
  await step('far-ended');
  await page.getByRole('tab', { name: 'History' }).click();
  const row = page.locator('#history li', { hasText: CALLER_NUMBER }).first();
  await row.waitFor();
  const historyNote = await page.textContent('#history-note');
  check(true, `the ended call is in the history: "${(await row.innerText()).replace(/\s+/g, ' ')}"` +
    (historyNote ? ` (note: ${historyNote})` : ''));
  await row.getByRole('button', { name: /^Call back/ }).click();
  await page.locator('#calls li.call').first().waitFor();
  await step('far-rings-and-hangs-up');
  await page.locator('#no-calls').waitFor({ state: 'visible' });
  check(true, 'Call back dialled the caller');
}

// transfer: B calls, the page answers and blind-transfers B to C.
async function transfer(page) {
  await step('far-dials');
  await page.locator('#banner .incoming').getByRole('button', { name: /^Answer/ }).click();
  const call = page.locator('#calls li.call[data-state="established"]');
  await call.waitFor();
  await call.getByLabel('Transfer to').fill(TRANSFER);
  await call.getByRole('button', { name: 'Transfer' }).click();
  await page.locator('#notice', { hasText: /^Transfer to .*: success/ }).waitFor();
  await page.locator('#no-calls').waitFor({ state: 'visible' });
  await step('far-transferred');
  check(true, `Transfer moved the caller to ${TRANSFER}: "${await page.textContent('#notice')}"`);
}

// dropped: the connection to the daemon breaks (the Go test's proxy in
// front of it closes every connection and refuses new ones) while a call
// comes in; once it is back, the stream resumes (Last-Event-ID) and the
// banner shows the call, without a reload.
async function dropped(page) {
  const streams = [];
  const onRequest = async (r) => {
    if (new URL(r.url()).pathname === '/v1/events') streams.push((await r.allHeaders())['last-event-id'] || '');
  };
  page.on('request', onRequest);
  await step('drop');
  await page.locator('#connection', { hasText: 'Connection lost' }).waitFor();
  check(true, `the page says the connection is lost: "${await page.textContent('#connection')}"`);
  await step('far-dials');
  check(await page.locator('#banner .incoming').count() === 0, 'cut off, the page does not show the call yet');
  await step('restore');
  await page.locator('#connection', { hasText: 'Live' }).waitFor({ timeout: 20000 });
  const banner = page.locator('#banner .incoming');
  await banner.waitFor();
  check(true, 'the connection came back: the page resumed and shows the call that came in meanwhile');
  page.off('request', onRequest);
  check(streams.length > 0 && streams.every((id) => /^\d+$/.test(id)),
    `the stream reconnected with Last-Event-ID (${streams.join(', ')})`);
  await banner.getByRole('button', { name: /^Reject/ }).focus();
  await page.keyboard.press('Enter');
  await banner.waitFor({ state: 'detached' });
  await step('far-rejected');
  check(true, 'Reject by keyboard rejected the call (486 at the far end)');
}

async function chat(page) {
  await page.getByRole('tab', { name: 'Chat' }).click();
  const probe = await apiFromPage(page, 'GET', '/v1/messages');
  await page.getByLabel('New chat with').fill(FAR);
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByLabel('Message', { exact: true }).fill('hello from the web');
  await page.getByRole('button', { name: 'Send' }).click();
  const mine = page.locator('#messages li.out', { hasText: 'hello from the web' }).last();
  if (probe.status === 503) {
    // Messaging is not built in this daemon: the page says so in words.
    await page.locator('#chat-note', { hasText: 'not available' }).waitFor();
    await mine.locator('.delivery', { hasText: 'not delivered' }).waitFor();
    check(true, `messaging unavailable is shown in words: "${await page.textContent('#chat-note')}"`);
    await shoot(page, 'chat');
    return 'unavailable';
  }
  check(probe.status === 200, `GET /v1/messages answers 200 (got ${probe.status})`);
  await mine.locator('.delivery', { hasText: /— delivered$/ }).waitFor();
  await step('far-got-message', 'hello from the web');
  await step('far-sends-message', 'hello from gophone B');
  await page.locator('#messages li.in', { hasText: 'hello from gophone B' }).waitFor();
  check(true, 'chat round trip: sent and delivered, the reply received');
  await shoot(page, 'chat');
  return 'round trip';
}

async function restart(page) {
  await page.evaluate(() => { window.__sameDocument = true; });
  await step('restart');
  // The page notices and comes back straight to live: the session cookie is
  // signed with a key from the token, so it outlives the daemon. (Were it
  // refused, the sign-in form would say so; that is a failure here.)
  const back = await waitFor('the page to reconnect', async () => {
    if (await page.locator('#signin').isVisible()) return 'signin';
    const live = (await page.textContent('#connection')).startsWith('Live');
    return live && (await status(page).catch(() => null)) ? 'live' : null;
  }, 30000);
  let how = 'the session survived the restart';
  check(back === 'live', 'the session outlived the daemon\'s restart: no sign-in asked');
  if (back === 'signin') {
    const msg = await page.textContent('#signin-error');
    check(/session has ended/.test(msg), `the sign-in form says why: "${msg}"`);
    await signIn(page);
    how = 'the session did not survive the restart; signed in again without a reload';
  }
  await step('far-dials');
  const banner = page.locator('#banner .incoming');
  await banner.waitFor({ timeout: 15000 });
  check(await page.evaluate(() => window.__sameDocument === true), 'no reload happened');
  check(true, `after the daemon restarted the page reconnected and shows the new call (${how})`);
  await banner.getByRole('button', { name: /^Reject/ }).click();
  await banner.waitFor({ state: 'detached' });
  await step('far-rejected');
  return how;
}

// ---- main ---------------------------------------------------------------

// launch starts Debian's Chromium headless on a fresh profile (its own
// --user-data-dir, which playwright passes for a persistent context) and
// returns the browser context; closing it ends the browser and removes the
// profile.
async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'gophone-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: DESKTOP,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const close = ctx.close.bind(ctx);
  ctx.close = async () => {
    await close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  return ctx;
}

async function main() {
  mkdirSync(SHOTS, { recursive: true });
  const summary = {};
  let ctx = null;
  try {
    await wrongToken();
    ctx = await launch();
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(15000);
    const urls = [];
    page.on('request', (r) => urls.push(r.url()));
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(URL_);
    await signIn(page);
    check(true, 'the right token signs in and the event stream is live');
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    check(!stored.includes(TOKEN), 'the token is in no web storage and no script-readable cookie');
    check(!(await page.textContent('#accounts')).includes('unknown'), 'the account state is shown in words');
    await shoot(page, 'idle');

    await keyboardDialOut(page);
    await incomingCall(page);
    await transfer(page);
    await dropped(page);
    summary.chat = await chat(page);
    summary.restart = await restart(page);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#signin-error', { hasText: 'You are signed out' }).waitFor();
    const after = await apiFromPage(page, 'GET', '/v1/status');
    check(after.status === 401, `signed out, the API answers 401 (got ${after.status})`);

    check(!urls.some((u) => u.includes(TOKEN)), `no request URL of the session carried the token (${urls.length} requests)`);
    check(!page.url().includes(TOKEN), 'the page URL never carried the token');
    check(pageErrors.length === 0, `no script error in the page (${pageErrors.join('; ') || 'none'})`);
  } finally {
    if (ctx) await ctx.close();
  }
  process.stdout.write(`DONE ${JSON.stringify(summary)}\n`);
}

main().then(() => process.exit(0), (err) => {
  log('FAIL:', err && err.stack ? err.stack : err);
  process.exit(1);
});
