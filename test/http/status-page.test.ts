// GET / as a browser asks for it (Accept: text/html) and as everything else
// does; the login link's 401 and redirect. Over a real socket, no browser
// (test/browser/ has the chromium run).
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService, type Service } from '../../src/service.ts';
import { listenLocal, useEnv } from '../support/sidecar.ts';

const TOKEN = 'status-page-token-0123456789';
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
let svc: Service;
let url: string;

beforeAll(async () => {
  // Nothing to probe: the page is rendered from the (empty) memory.
  const config = useEnv({
    S3_HEALTH_BUCKET: 'acme-kb-prod',
    S3_HEALTH_DIAGNOSE_TOKEN: TOKEN,
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  svc = createService(config, pino({ level: 'silent' }), 'test');
  url = await listenLocal(svc);
});
afterAll(async () => {
  await svc?.stop();
  delete process.env.S3_HEALTH_DIAGNOSE_TOKEN;
});

const basic = (password: string) => `Basic ${Buffer.from(`oncall:${password}`).toString('base64')}`;

describe('GET /', () => {
  it('a browser gets the page with a strict CSP; curl and API clients keep the JSON', async () => {
    const page = await fetch(`${url}/`, { headers: { accept: HTML } });
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; img-src data:/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toMatch(/^<!doctype html>/);
    for (const accept of ['*/*', 'application/json', '']) {
      const res = await fetch(`${url}/`, { headers: accept ? { accept } : {} });
      expect(res.headers.get('content-type'), accept).toContain('application/json');
    }
  });

  it('/?refresh adds a meta refresh (the probe interval, or N from 5 to 3600 s); nothing else does', async () => {
    const page = async (q: string) =>
      (await fetch(`${url}/${q}`, { headers: { accept: HTML } })).text();
    expect(await page('?refresh')).toContain('<meta http-equiv="refresh" content="30">');
    expect(await page('?refresh=10')).toContain('<meta http-equiv="refresh" content="10">');
    for (const q of ['', '?refresh=1', '?refresh=99999', '?refresh=x']) {
      expect(await page(q), q).not.toContain('http-equiv="refresh"');
    }
  });

  it('/?login challenges with Basic first, then sends a logged-in browser back to /', async () => {
    const denied = await fetch(`${url}/?login`, { headers: { accept: HTML } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Basic realm="s3-health"/);
    const wrong = await fetch(`${url}/?login`, {
      headers: { accept: HTML, authorization: basic('not-the-token-at-all') },
      redirect: 'manual',
    });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${url}/?login`, {
      headers: { accept: HTML, authorization: basic(TOKEN) },
      redirect: 'manual',
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/');
  });

  it('without the token the page offers the login and never shows the token', async () => {
    const html = await (await fetch(`${url}/`, { headers: { accept: HTML } })).text();
    expect(html).toContain('href="/?login"');
    expect(html).not.toContain(TOKEN);
    const logged = await (
      await fetch(`${url}/`, { headers: { accept: HTML, authorization: basic(TOKEN) } })
    ).text();
    expect(logged).not.toContain('href="/?login"');
  });
});
