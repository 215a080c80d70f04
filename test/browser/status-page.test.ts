// The status page in a real browser: Debian's chromium driven by
// playwright-core (no browser download), against a sidecar process on the
// fault ground. The timeline must follow a fault switched on and off (a real
// radosgw session policy, then IMDS disabled), with no console error (a CSP
// violation is one), no request leaving the page's origin, and no axe-core
// finding at any impact level. Heavy: run it under `flock /tmp/s3h-heavy.lock`.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUND_IDENTITY } from '../../ground/ground.ts';
import { denyActions } from '../../ground/radosgw/info.ts';
import type { FaultGround } from '../reliability/support/ground.ts';
import { closeAll, openFaultGround, startSidecar } from '../reliability/support/harness.ts';
import { verdicts, waitUntil } from '../reliability/support/http.ts';
import { FAST, timingEnv, waitPass } from '../reliability/support/matrix.ts';
import type { SidecarProcess } from '../reliability/support/process.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const SCREENSHOT = join(ARTIFACTS, 'status-page.png');
const TOKEN = 'status-page-token-0123456789';
const CHECKS = ['environment', 'imds', 'credentials', 's3'] as const;
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let g: FaultGround;
let open: SidecarProcess;
let guarded: SidecarProcess;
let browser: Browser;

interface Watched {
  page: Page;
  consoleErrors: string[];
  foreign: string[];
  requests: string[];
}

/** A page that records console errors and every request not to `origin`. */
async function watchedPage(
  origin: string,
  httpCredentials?: { username: string; password: string },
): Promise<Watched> {
  const context = await browser.newContext({
    viewport: { width: 1200, height: 900 },
    ...(httpCredentials === undefined ? {} : { httpCredentials }),
  });
  const page = await context.newPage();
  const w: Watched = { page, consoleErrors: [], foreign: [], requests: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') w.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => w.consoleErrors.push(e.message));
  page.on('request', (r) => {
    const url = r.url();
    w.requests.push(url);
    if (!url.startsWith('data:') && new URL(url).origin !== origin) w.foreign.push(url);
  });
  return w;
}

/** The s3 timeline's bars as `status×cycles`, oldest first. */
async function bars(page: Page, check: string): Promise<string[]> {
  return page.$$eval(`svg.timeline[data-check="${check}"] rect`, (rects) =>
    rects.map((r) => `${r.getAttribute('data-status')}×${r.getAttribute('data-cycles')}`),
  );
}

async function waitCheck(url: string, check: string, status: string): Promise<void> {
  await waitUntil(
    `${check} ${status}`,
    async () => (await verdicts(url)).checks[check]?.status === status,
    20_000,
  );
}

beforeAll(async () => {
  // Fails loudly: a browser tier that cannot run must not pass by skipping.
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} missing: the browser tier needs Debian's chromium (scripts/install-peers.sh)`,
    );
  }
  g = await openFaultGround();
  const env = { ...timingEnv(FAST), S3_HEALTH_LOG_LEVEL: 'warn' };
  [open, guarded] = await Promise.all([
    startSidecar(g, env),
    startSidecar(g, { ...env, S3_HEALTH_DIAGNOSE_TOKEN: TOKEN }),
  ]);
  await Promise.all([waitPass(open.url, 30_000), waitPass(guarded.url, 30_000)]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As root (CI, this VM) chromium refuses to start with its sandbox on.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await closeAll(g);
});

describe('the status page in chromium', () => {
  it('renders with each check; other clients keep the JSON', async () => {
    const w = await watchedPage(open.url);
    const res = await w.page.goto(`${open.url}/`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toContain('text/html');
    expect(res?.headers()['content-security-policy']).toContain("default-src 'none'");
    for (const c of CHECKS) {
      await expect.poll(() => w.page.locator(`#checks tr[data-check="${c}"]`).count()).toBe(1);
    }
    expect(await w.page.title()).toContain('PASS');
    const json = await fetch(`${open.url}/`);
    expect(json.headers.get('content-type')).toContain('application/json');
    await w.page.context().close();
  });

  it('follows a fault switched on and off: no console error, no request off the origin', async () => {
    const w = await watchedPage(open.url);
    await w.page.goto(`${open.url}/`);
    const before = await bars(w.page, 's3');
    expect(before.every((b) => b.startsWith('pass'))).toBe(true);

    g.setPolicy(denyActions(['s3:PutObject']));
    await waitCheck(open.url, 's3', 'fail');
    g.setPolicy(undefined);
    await waitCheck(open.url, 's3', 'pass');
    g.imds.setFault('disabled');
    await waitCheck(open.url, 'imds', 'fail');
    g.imds.setFault('none');
    await waitPass(open.url, 20_000);

    await w.page.reload();
    const after = await bars(w.page, 's3');
    const statuses = after.map((b) => b.split('×')[0]);
    expect(statuses).toContain('fail');
    expect(statuses).toContain('blocked');
    expect(statuses.at(-1)).toBe('pass');
    expect(statuses.indexOf('fail')).toBeLessThan(statuses.indexOf('blocked'));
    expect((await bars(w.page, 'imds')).some((b) => b.startsWith('fail'))).toBe(true);
    // The recent changes table, newest first, and line 1.
    await expect
      .poll(() => w.page.locator('#recent tr[data-check="s3"][data-to="fail"]').count())
      .toBeGreaterThan(0);
    const recentText = (await w.page.locator('#recent').textContent()) ?? '';
    expect(recentText).toContain('s3_access_denied');
    expect(recentText).toContain('AccessDenied, HTTP 403');
    expect((await w.page.locator('#headline').textContent()) ?? '').toMatch(
      /^PASS now; (imds|s3) failed/,
    );
    await w.page.screenshot({ path: SCREENSHOT, fullPage: true });

    expect(w.consoleErrors).toEqual([]);
    expect(w.foreign).toEqual([]);
    expect(w.requests.length).toBeGreaterThan(0);
    console.log(
      `status page: s3 timeline ${after.join(' ')}; ${w.requests.length} requests, all to ${open.url}; screenshot ${SCREENSHOT}; ${browser.version()}`,
    );
    await w.page.context().close();
  }, 90_000);

  it('readable without JavaScript: with it off the page shows every check, and /?refresh reloads it', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${open.url}/?refresh=5`);
    for (const c of CHECKS)
      expect(await page.locator(`#checks tr[data-check="${c}"]`).count()).toBe(1);
    const first = (await page.locator('#headline').textContent()) ?? '';
    expect(first).toMatch(/^PASS/);
    // The meta refresh loads the page again, without any script.
    await page.waitForEvent('load', { timeout: 10_000 });
    expect(page.url()).toBe(`${open.url}/?refresh=5`);
    await context.close();
  }, 30_000);

  it('axe-core finds no violation at any impact level', async () => {
    const w = await watchedPage(open.url);
    await w.page.goto(`${open.url}/`);
    // Evaluated over the DevTools protocol, which the page's CSP does not govern.
    await w.page.evaluate(AXE);
    const result = (await w.page.evaluate(
      `axe.run(document, { resultTypes: ['violations'] })`,
    )) as { violations: { id: string; impact: string | null; help: string; nodes: unknown[] }[] };
    expect(
      result.violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length})`),
    ).toEqual([]);
    console.log(
      `axe-core: ${result.violations.length} violation(s) at any impact level (all rules but experimental)`,
    );
    await w.page.context().close();
  });

  it('with a token: no identity until HTTP Basic login, then the role and instance id', async () => {
    const anon = await watchedPage(guarded.url);
    await anon.page.goto(`${guarded.url}/`);
    const hidden = await anon.page.content();
    expect(hidden).not.toContain(GROUND_IDENTITY.roleName);
    expect(hidden).not.toContain(GROUND_IDENTITY.instanceId);
    expect(await anon.page.locator('#login a[href="/?login"]').count()).toBe(1);
    // Without credentials chromium ends the navigation (ERR_INVALID_AUTH_CREDENTIALS): ask in its context instead.
    const denied = await anon.page.request.get(`${guarded.url}/?login`, {
      headers: { accept: 'text/html' },
    });
    expect(denied.status()).toBe(401);
    expect(denied.headers()['www-authenticate']).toMatch(/^Basic /);
    await anon.page.context().close();

    const user = await watchedPage(guarded.url, { username: 'oncall', password: TOKEN });
    const res = await user.page.goto(`${guarded.url}/?login`);
    expect(res?.status()).toBe(200);
    expect(new URL(user.page.url()).pathname).toBe('/');
    const shown = (await user.page.locator('#facts').textContent()) ?? '';
    expect(shown).toContain(GROUND_IDENTITY.roleName);
    expect(shown).toContain(GROUND_IDENTITY.instanceId);
    expect(await user.page.locator('#login').count()).toBe(0);
    expect(user.consoleErrors).toEqual([]);
    expect(user.foreign).toEqual([]);
    await user.page.context().close();
  });
});
