/**
 * The management console in a real browser (Debian's Chromium, driven by playwright-core) against
 * the real switch: the dashboard's TPS rises while terminals sell; a terminal disabled in the
 * console gets 58 on its next sale (and 00 again once enabled); a form refuses bad input with the
 * API's own reason and changes nothing; a viewer's token changes nothing. With POSP_SCREENSHOTS=DIR
 * it also saves the README's screenshots there.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import t from 'tap';
import { SimTerminal } from '../../src/loadgen/index.js';
import { DEMO, demoPan, demoTid } from '../../src/store/index.js';
import { DEFAULTS, startSwitch, type RunningSwitch } from '../../src/switch/index.js';
import { suiteLogging } from '../suite-log.js';

const logging = suiteLogging('console-in-chromium');

const TOKEN = 'console-test-admin-token-0123456789';
const CHROMIUM = process.env.POSP_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.POSP_SCREENSHOTS;

async function api(sw: RunningSwitch, method: string, path: string, body?: unknown, token = TOKEN): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${sw.adminPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** Opens the console and signs in with `token`. */
async function signedIn(browser: Browser, sw: RunningSwitch, token: string, hash = ''): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`http://127.0.0.1:${sw.adminPort}/${hash}`);
  await page.fill('#token', token);
  await page.click('#sign-in-form button[type=submit]');
  return page;
}

async function terminal(sw: RunningSwitch, n: number): Promise<SimTerminal> {
  const term = new SimTerminal({ host: '127.0.0.1', port: sw.posPort, tid: demoTid(n), mid: DEMO.mid, tmk: DEMO.tmk });
  await term.connect();
  if ((await term.signIn()).text(39) !== '00') throw new Error(`terminal ${term.options.tid} could not sign in`);
  return term;
}

const card = (n: number) => ({ pan: demoPan(n), expiry: DEMO.expiry, pin: DEMO.pin });

t.test('the console in Chromium', async (t) => {
  t.ok(existsSync(CHROMIUM), `Chromium is installed at ${CHROMIUM} (.ci/run installs Debian's)`);
  const dataDir = mkdtempSync(join(tmpdir(), 'posp-console-'));
  const sw = await startSwitch({ ...DEFAULTS, dataDir, posPort: 0, adminPort: 0, demo: true, workers: 1, ...logging.config, adminToken: TOKEN, cutoverAt: 'off' }, logging.log);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const terminals: SimTerminal[] = [];
  t.teardown(async () => {
    for (const term of terminals) term.close();
    await browser.close();
    await sw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  await t.test("the dashboard's TPS rises while terminals sell", async (t) => {
    const page = await signedIn(browser, sw, TOKEN);
    await page.waitForFunction(`document.getElementById('business-date').textContent !== '—'`, undefined, { timeout: 10_000 });
    t.equal(await page.textContent('#tps-now'), '0', 'idle: 0 TPS');
    for (let i = 0; i < 8; i++) terminals.push(await terminal(sw, i));
    let selling = true;
    const sells = terminals.map(async (term, i) => {
      for (let n = 0; selling; n++) await term.request(term.sale(card(1 + i), 100 + (n % 50)));
    });
    await page.waitForFunction(`Number(document.getElementById('tps-now').textContent) > 0`, undefined, { timeout: 10_000 });
    const tps = Number(await page.textContent('#tps-now'));
    t.ok(tps > 0, `under load the dashboard shows ${tps} TPS`);
    t.ok(Number(await page.textContent('#approved')) > 0, 'and approvals in the code mix');
    t.ok((await page.locator('#tail tbody tr').count()) > 0, 'and transactions in the live tail');
    if (SCREENSHOTS) {
      await page.waitForTimeout(5000);
      await page.screenshot({ path: join(SCREENSHOTS, 'console-dashboard.png'), fullPage: true });
    }
    selling = false;
    await Promise.all(sells);
    await page.close();
  });

  await t.test('a terminal disabled in the console gets 58 on its next sale', async (t) => {
    const term = await terminal(sw, 50);
    terminals.push(term);
    t.equal((await term.request(term.sale(card(50), 1000))).text(39), '00', 'enabled: the sale is approved');
    const page = await signedIn(browser, sw, TOKEN, `#/terminals/${term.options.tid}`);
    await page.waitForSelector('#terminal-status');
    t.equal(await page.textContent('#terminal-status'), 'active', 'the terminal page shows it active');
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'console-terminal.png'), fullPage: true });
    await page.click('#disable');
    await page.waitForFunction(`document.getElementById('terminal-status').textContent === 'suspended'`, undefined, { timeout: 10_000 });
    t.equal((await term.request(term.sale(card(50), 1001))).text(39), '58', 'disabled in the console: its next sale answers 58');
    await page.click('#enable');
    await page.waitForFunction(`document.getElementById('terminal-status').textContent === 'active'`, undefined, { timeout: 10_000 });
    t.equal((await term.request(term.sale(card(50), 1002))).text(39), '00', 'enabled again: approved');
    await page.close();
  });

  await t.test("a form refuses bad input with the API's reason and changes nothing", async (t) => {
    const mid = '898100012349999';
    const bad = { name: 'NEW STORE', mcc: '54A1' };
    const direct = await api(sw, 'PUT', `/api/v1/merchants/${mid}`, bad);
    t.equal(direct.status, 400, 'the API refuses the merchant');
    const page = await signedIn(browser, sw, TOKEN, '#/merchants');
    await page.waitForSelector('#record-form');
    await page.fill('#record-form input[name=mid]', mid);
    await page.fill('#record-form input[name=name]', bad.name);
    await page.fill('#record-form input[name=mcc]', bad.mcc);
    await page.click('#record-form button[type=submit]');
    const shown = await (await page.waitForSelector('p.error')).textContent();
    t.equal(shown, `400: ${direct.body.error}`, `the form shows the API's reason: ${shown}`);
    t.equal((await api(sw, 'GET', `/api/v1/merchants/${mid}`)).status, 404, 'and no merchant was made');
    await page.close();
  });

  await t.test('a viewer token cannot change anything', async (t) => {
    const made = await api(sw, 'POST', '/api/v1/tokens', { role: 'viewer', label: 'console test' });
    t.equal(made.status, 200, 'a viewer token is made');
    const tid = demoTid(60);
    const page = await signedIn(browser, sw, made.body.token, `#/terminals/${tid}`);
    await page.waitForSelector('#terminal-status');
    t.equal(await page.textContent('#terminal-status'), 'active', 'a viewer sees the terminal');
    await page.click('#disable');
    const refused = await (await page.waitForSelector('p.error')).textContent();
    t.match(refused, /^403: /, `disabling is refused: ${refused}`);
    t.equal((await api(sw, 'GET', `/api/v1/terminals/${tid}`)).body.status, 'active', 'the terminal is still active');
    await page.goto(`http://127.0.0.1:${sw.adminPort}/#/bins`);
    await page.waitForSelector('#record-form');
    await page.fill('#record-form input[name=prefix]', '622599');
    await page.fill('#record-form input[name=issuer]', 'VIEWER BANK');
    await page.selectOption('#record-form select[name=organisation]', 'CUP');
    await page.selectOption('#record-form select[name=onUs]', 'true');
    await page.selectOption('#record-form select[name=domestic]', 'true');
    await page.click('#record-form button[type=submit]');
    t.match(await (await page.waitForSelector('p.error')).textContent(), /^403: /, 'creating a BIN is refused');
    t.equal((await api(sw, 'GET', '/api/v1/bins/622599')).status, 404, 'and no BIN was made');
    await page.close();
  });
});
