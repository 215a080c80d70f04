// botocore's proxy decision, checked against Python itself: the machine's
// urllib/botocore compute the oracle for every case (fixed and generated),
// and src/aws/proxy-env.ts must answer the same. Pure logic plus one Python
// process per batch.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bypassesProxy, proxyFor, proxyVarsOf } from '../../src/config/proxy-env.ts';

const ORACLE = `
import json, os, sys, urllib.request
from botocore.utils import get_environ_proxies
from botocore.httpsession import ProxyConfiguration
out = []
for case in json.load(sys.stdin):
    if case['kind'] == 'bypass':
        out.append(urllib.request.proxy_bypass_environment(case['netloc'], {'no': case['no']}))
    elif case['kind'] == 'vars':
        os.environ.clear(); os.environ.update(case['env'])
        out.append(urllib.request.getproxies_environment())
    else:
        os.environ.clear(); os.environ.update(case['env'])
        proxies = get_environ_proxies(case['url'])
        out.append(ProxyConfiguration(proxies).proxy_url_for(case['url']))
print(json.dumps(out))
`;

type Case =
  | { kind: 'bypass'; netloc: string; no: string }
  | { kind: 'vars'; env: Record<string, string> }
  | { kind: 'url'; url: string; env: Record<string, string> };

function python(cases: Case[]): unknown[] {
  const r = spawnSync('python3', ['-c', ORACLE], {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`python oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown[];
}

const S3 = 'kb-prod.s3.eu-west-1.amazonaws.com';
const BYPASS: [string, string][] = [
  [S3, 'amazonaws.com'],
  [S3, '.amazonaws.com'],
  [S3, '..amazonaws.com'],
  [S3, 's3.eu-west-1.amazonaws.com'],
  [S3, 'eu-west-1.amazonaws.com:443'],
  [`${S3}:443`, 'amazonaws.com'],
  [`${S3}:443`, `${S3}:443`],
  [`${S3}:8443`, `${S3}:443`],
  [S3, 'AMAZONAWS.COM'],
  [S3, 'zonaws.com'],
  [S3, '*'],
  [S3, 'localhost,*'],
  [S3, '*.amazonaws.com'],
  [S3, ' amazonaws.com , x'],
  ['169.254.169.254', '169.254.169.254,localhost,127.0.0.1'],
  ['169.254.169.254', '169.254.0.0/16'],
  ['169.254.170.2', '169.254.169.254,localhost,127.0.0.1'],
  ['127.0.0.2:9000', '169.254.169.254,localhost,127.0.0.1'],
  ['127.0.0.1:9000', '169.254.169.254,localhost,127.0.0.1'],
  ['[::1]:9000', '::1'],
  ['[::1]:9000', '[::1]'],
  ['sts.eu-west-1.amazonaws.com', ''],
  ['host:', 'host'],
];

describe('NO_PROXY as urllib reads it', () => {
  it('fixed cases: suffixes, leading dots, ports, *, IP literals, no CIDR', () => {
    const want = python(BYPASS.map(([netloc, no]) => ({ kind: 'bypass', netloc, no })));
    BYPASS.forEach(([netloc, no], i) => {
      expect(bypassesProxy(netloc, no), `${netloc} / ${no}`).toBe(want[i]);
    });
  });

  it('generated cases agree with Python', () => {
    const label = fc.constantFrom('s3', 'amazonaws', 'com', 'eu-west-1', 'kb', 'x', 'S3', '');
    const host = fc
      .array(label, { minLength: 1, maxLength: 4 })
      .map((ls) => ls.join('.'))
      .chain((h) =>
        fc.oneof(
          fc.constant(h),
          fc.constantFrom(':443', ':80', ':', ':9000').map((p) => `${h}${p}`),
        ),
      );
    const entry = fc.oneof(
      host,
      host.map((h) => `.${h}`),
      fc.constantFrom('*', ' ', '..', '169.254.169.254', '10.0.0.0/8'),
    );
    const noProxy = fc.array(entry, { maxLength: 4 }).map((es) => es.join(','));
    const samples = fc.sample(fc.tuple(host, noProxy), { numRuns: 3000, seed: 18 });
    const want = python(samples.map(([netloc, no]) => ({ kind: 'bypass', netloc, no })));
    const differ = samples.filter(([netloc, no], i) => bypassesProxy(netloc, no) !== want[i]);
    expect(differ).toEqual([]);
  });
});

describe('proxy variables as urllib reads them', () => {
  const ENVS: Record<string, string>[] = [
    { HTTPS_PROXY: 'http://up:3128' },
    { https_proxy: 'http://low:3128', HTTPS_PROXY: 'http://up:3128' },
    { HTTPS_PROXY: 'http://up:3128', https_proxy: 'http://low:3128' },
    { HTTPS_PROXY: 'http://up:3128', https_proxy: '' },
    { HTTP_PROXY: 'http://up:3128', REQUEST_METHOD: 'GET' },
    { http_proxy: 'http://low:3128', REQUEST_METHOD: 'GET' },
    { Https_Proxy: 'http://mixed:3128' },
    { NO_PROXY: 'localhost', no_proxy: '' },
    { ALL_PROXY: 'socks5://x:1080', FTP_PROXY: 'f' },
    {},
  ];

  it('lowercase wins, an empty lowercase value unsets, CGI drops HTTP_PROXY', () => {
    const want = python(ENVS.map((env) => ({ kind: 'vars', env })));
    ENVS.forEach((env, i) => {
      expect(proxyVarsOf(env), JSON.stringify(env)).toEqual(want[i]);
    });
  });

  it("the proxy botocore takes for a request URL (scheme's variable, unless NO_PROXY exempts it)", () => {
    const cases: { url: string; env: Record<string, string> }[] = [];
    const envs: Record<string, string>[] = [
      { HTTPS_PROXY: 'http://user:pa%40ss@127.0.0.1:3128' },
      { HTTPS_PROXY: '127.0.0.1:3128' },
      { HTTPS_PROXY: '//127.0.0.1:3128' },
      { HTTP_PROXY: 'http://127.0.0.1:3128' },
      { HTTPS_PROXY: 'http://127.0.0.1:3128', NO_PROXY: '169.254.169.254,localhost,127.0.0.1' },
      { HTTPS_PROXY: 'http://127.0.0.1:3128', NO_PROXY: 'amazonaws.com' },
      { HTTPS_PROXY: 'http://127.0.0.1:3128', NO_PROXY: '*' },
    ];
    const urls = [
      `https://${S3}/key`,
      'https://sts.eu-west-1.amazonaws.com/',
      'https://127.0.0.2:7480/kb/x',
      'https://127.0.0.1:7480/kb/x',
      'http://169.254.169.254/latest/api/token',
      'http://127.0.0.2:7480/kb/x',
    ];
    for (const env of envs) for (const url of urls) cases.push({ url, env });
    const want = python(cases.map((c) => ({ kind: 'url', ...c })));
    cases.forEach((c, i) => {
      const got = proxyFor(new URL(c.url), proxyVarsOf(c.env));
      const expected = want[i] === null ? undefined : new URL(String(want[i])).href;
      expect(got?.href, `${c.url} with ${JSON.stringify(c.env)}`).toBe(expected);
    });
  });
});
