import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Env, EXIT_CONFIG, formatProblems, parseConfig } from '../../src/config/parse.ts';
import { type Config, type ConfigProblem, LOG_LEVELS } from '../../src/model/config.ts';

const HOST = 'f3a9c2e1b7d4';
const BASE: Env = { KB_STORAGE_URI: 's3://acme-kb-prod/kb/' };
// AWS's documented example credentials: shaped like real ones, valid nowhere.
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const TOKEN = 'diag-token-0123456789abcdef';

function ok(env: Env, hostname = HOST): Config {
  const r = parseConfig({ ...BASE, ...env }, hostname);
  if (!r.ok) throw new Error(`expected ok, got ${formatProblems(r.problems)}`);
  return r.config;
}

function problems(env: Env, hostname = HOST): ConfigProblem[] {
  const r = parseConfig({ ...BASE, ...env }, hostname);
  if (r.ok) throw new Error(`expected problems for ${JSON.stringify(env)}`);
  return r.problems;
}

function expectClearProblem(list: ConfigProblem[], variable: string, value: string): void {
  const p = list.find((x) => x.variable === variable);
  expect(p, `a problem naming ${variable}`).toBeDefined();
  expect(p?.value).toBe(value);
  expect(p?.problem.length).toBeGreaterThan(0);
  expect(p?.allowed.length).toBeGreaterThan(0);
}

describe('defaults', () => {
  it('equal the SPEC §2 table', () => {
    const c = ok({});
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      checks: ['environment', 'imds', 'credentials', 's3'],
      intervalSeconds: 30,
      timeoutSeconds: 5,
      failureThreshold: 2,
      successThreshold: 1,
      bucket: 'acme-kb-prod',
      prefix: 'healthcheck/',
      hostname: HOST,
      forcePathStyle: false,
      credentialsWarnSeconds: 900,
      credentialsFailSeconds: 300,
      historyCycles: 360,
      metricsHistograms: false,
      diagnoseMinIntervalSeconds: 10,
      logLevel: 'info',
    });
    for (const unset of ['sse', 'kmsKeyId', 'expectedAccount', 'expectedRole', 'diagnoseToken']) {
      expect(c[unset as keyof Config], unset).toBeUndefined();
    }
  });

  it('treats a blank value as unset, as env files write it', () => {
    expect(ok({ S3_HEALTH_PORT: '', S3_HEALTH_LOG_LEVEL: '   ' })).toMatchObject({
      port: 8080,
      logLevel: 'info',
    });
  });

  it('exits 78 (EX_CONFIG) on bad configuration', () => {
    expect(EXIT_CONFIG).toBe(78);
  });
});

interface VarCase {
  name: string;
  valid: [string, Partial<Config>, Env?][];
  invalid: [string, Env?][];
}

const CASES: VarCase[] = [
  {
    name: 'S3_HEALTH_PORT',
    valid: [
      ['1', { port: 1 }],
      ['65535', { port: 65535 }],
      [' 9090 ', { port: 9090 }],
    ],
    invalid: [['0'], ['65536'], ['80.5'], ['http'], ['-1'], ['8080x'], ['0x50']],
  },
  {
    name: 'S3_HEALTH_CHECKS',
    valid: [
      ['imds', { checks: ['environment', 'imds'] }],
      ['s3,imds', { checks: ['environment', 'imds', 's3'] }],
      [' IMDS , Credentials ', { checks: ['environment', 'imds', 'credentials'] }],
      ['environment', { checks: ['environment'] }],
    ],
    invalid: [['imds,bogus'], ['imds;s3'], ['all']],
  },
  {
    name: 'S3_HEALTH_INTERVAL_SECONDS',
    valid: [
      ['0.1', { intervalSeconds: 0.1 }, { S3_HEALTH_TIMEOUT_SECONDS: '0.05' }],
      ['86400', { intervalSeconds: 86400 }],
      ['12.5', { intervalSeconds: 12.5 }],
    ],
    invalid: [['0'], ['0.09'], ['86401'], ['1e3'], ['-5'], ['Infinity'], ['NaN'], ['30s']],
  },
  {
    name: 'S3_HEALTH_TIMEOUT_SECONDS',
    valid: [
      ['0.05', { timeoutSeconds: 0.05 }],
      ['30', { timeoutSeconds: 30 }],
      ['300', { timeoutSeconds: 300 }, { S3_HEALTH_INTERVAL_SECONDS: '600' }],
    ],
    invalid: [['0.01'], ['301', { S3_HEALTH_INTERVAL_SECONDS: '600' }], ['five'], ['31']],
  },
  {
    name: 'S3_HEALTH_FAILURE_THRESHOLD',
    valid: [
      ['1', { failureThreshold: 1 }],
      ['100', { failureThreshold: 100 }],
    ],
    invalid: [['0'], ['101'], ['1.5'], ['two']],
  },
  {
    name: 'S3_HEALTH_SUCCESS_THRESHOLD',
    valid: [
      ['1', { successThreshold: 1 }],
      ['100', { successThreshold: 100 }],
    ],
    invalid: [['0'], ['101'], ['2.0001'], ['-1']],
  },
  {
    name: 'S3_HEALTH_BUCKET',
    valid: [
      ['abc', { bucket: 'abc' }],
      ['my.bucket-1', { bucket: 'my.bucket-1' }],
      ['a'.repeat(63), { bucket: 'a'.repeat(63) }],
    ],
    invalid: [
      ['ab'],
      ['Upper'],
      ['a..b'],
      ['192.168.1.1'],
      ['xn--abc'],
      ['-abc'],
      ['abc-'],
      ['a'.repeat(64)],
      ['bad_bucket'],
      ['s3://acme-kb-prod'],
    ],
  },
  {
    name: 'S3_HEALTH_PREFIX',
    valid: [
      ['probes/', { prefix: 'probes/', hostname: HOST }],
      ['a/b/', { prefix: 'a/b/' }],
      ["x!_.*'()-/", { prefix: "x!_.*'()-/" }],
    ],
    invalid: [['noslash'], ['/abs/'], ['a//b/'], ['sp ace/'], ['ünï/'], ['/'], ['a?b/']],
  },
  {
    name: 'S3_HEALTH_SSE',
    valid: [
      ['AES256', { sse: 'AES256' }],
      ['aws:kms', { sse: 'aws:kms' }],
    ],
    invalid: [['aes256'], ['kms'], ['aws:kms:dsse'], ['none']],
  },
  {
    name: 'S3_HEALTH_KMS_KEY_ID',
    valid: [
      [
        'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        { sse: 'aws:kms' },
        { S3_HEALTH_SSE: 'aws:kms' },
      ],
    ],
    invalid: [['alias/app'], ['alias/app', { S3_HEALTH_SSE: 'AES256' }]],
  },
  {
    name: 'S3_HEALTH_S3_FORCE_PATH_STYLE',
    valid: [
      ['true', { forcePathStyle: true }],
      ['1', { forcePathStyle: true }],
      ['TRUE', { forcePathStyle: true }],
      ['false', { forcePathStyle: false }],
      ['0', { forcePathStyle: false }],
    ],
    invalid: [['yes'], ['on'], ['2'], ['t']],
  },
  {
    name: 'S3_HEALTH_HISTORY_CYCLES',
    valid: [
      ['1', { historyCycles: 1 }],
      ['360', { historyCycles: 360 }],
      ['10000', { historyCycles: 10000 }],
    ],
    invalid: [['0'], ['10001'], ['1.5'], ['-1'], ['6h']],
  },
  {
    name: 'S3_HEALTH_METRICS_HISTOGRAMS',
    valid: [
      ['true', { metricsHistograms: true }],
      ['1', { metricsHistograms: true }],
      ['False', { metricsHistograms: false }],
      ['0', { metricsHistograms: false }],
    ],
    invalid: [['yes'], ['histograms'], ['2'], ['off']],
  },
  {
    name: 'S3_HEALTH_EXPECTED_ACCOUNT',
    valid: [['123456789012', { expectedAccount: '123456789012' }]],
    invalid: [['12345678901'], ['1234567890123'], ['abcdefghijkl'], ['1234-5678-9012']],
  },
  {
    name: 'S3_HEALTH_EXPECTED_ROLE',
    valid: [
      ['kdcube-app-role', { expectedRole: 'kdcube-app-role' }],
      [
        'arn:aws:iam::123456789012:role/kdcube-app-role',
        { expectedRole: 'arn:aws:iam::123456789012:role/kdcube-app-role' },
      ],
      ['arn:aws:iam::123456789012:role/path/to/app', {}],
      ['arn:aws-cn:iam::123456789012:role/app', {}],
      ['arn:aws:sts::123456789012:assumed-role/app/i-0123456789abcdef0', {}],
    ],
    invalid: [['has space'], ['arn:aws:iam::123:role/x'], ['r'.repeat(65)], ['role/x']],
  },
  {
    name: 'S3_HEALTH_CREDENTIALS_WARN_SECONDS',
    valid: [
      ['0', { credentialsWarnSeconds: 0 }, { S3_HEALTH_CREDENTIALS_FAIL_SECONDS: '0' }],
      ['43200', { credentialsWarnSeconds: 43200 }],
    ],
    invalid: [['43201'], ['-1'], ['1.5'], ['15m']],
  },
  {
    name: 'S3_HEALTH_CREDENTIALS_FAIL_SECONDS',
    valid: [
      ['0', { credentialsFailSeconds: 0 }],
      ['900', { credentialsFailSeconds: 900 }],
    ],
    invalid: [['901'], ['43201'], ['-300'], ['5m']],
  },
  {
    name: 'S3_HEALTH_DIAGNOSE_TOKEN',
    valid: [
      ['a'.repeat(16), { diagnoseToken: 'a'.repeat(16) }],
      ['~'.repeat(256), { diagnoseToken: '~'.repeat(256) }],
    ],
    invalid: [
      ['a'.repeat(15)],
      ['a'.repeat(257)],
      ['token with spaces inside'],
      ['tökentökentöken!'],
    ],
  },
  {
    name: 'S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS',
    valid: [
      ['1', { diagnoseMinIntervalSeconds: 1 }],
      ['2.5', { diagnoseMinIntervalSeconds: 2.5 }],
      ['3600', { diagnoseMinIntervalSeconds: 3600 }],
    ],
    // 0 would let callers drive S3 as fast as they ask (SPEC §8).
    invalid: [['0'], ['0.5'], ['3601'], ['-10'], ['10s'], ['ten']],
  },
  {
    name: 'S3_HEALTH_LOG_LEVEL',
    valid: LOG_LEVELS.map((l) => [l, { logLevel: l }] as [string, Partial<Config>]),
    invalid: [['INFO'], ['verbose'], ['warning']],
  },
];

describe.each(CASES)('$name', ({ name, valid, invalid }) => {
  it.each(valid)('accepts %j', (value, expected, extra) => {
    expect(ok({ ...extra, [name]: value })).toMatchObject(expected);
  });
  it.each(invalid)('rejects %j with a clear problem', (value, extra) => {
    expectClearProblem(problems({ ...extra, [name]: value }), name, value);
  });
});

describe('the AWS variables it validates', () => {
  it.each([
    ['AWS_REGION', 'EU-WEST-1'],
    ['AWS_REGION', 'eu-west'],
    ['AWS_DEFAULT_REGION', 'ireland'],
    ['AWS_EC2_METADATA_SERVICE_ENDPOINT', 'ftp://169.254.169.254'],
    ['AWS_EC2_METADATA_SERVICE_ENDPOINT', 'not a url'],
    ['AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE', 'ipv4'],
    ['AWS_ENDPOINT_URL', 'localhost:7480'],
    ['AWS_ENDPOINT_URL_S3', 's3://bucket'],
    ['AWS_ENDPOINT_URL_STS', '://'],
    ['KB_STORAGE_URI', 's3://'],
  ])('rejects %s=%j', (name, value) => {
    expectClearProblem(problems({ [name]: value }), name, value);
  });

  it('accepts what the SDK accepts', () => {
    const c = ok({
      AWS_REGION: 'us-gov-west-1',
      AWS_DEFAULT_REGION: 'us-gov-west-1',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1338',
      AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'IPv6',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:7480',
    });
    expect(c.aws).toMatchObject({
      region: 'us-gov-west-1',
      imdsEndpoint: 'http://127.0.0.1:1338',
      imdsEndpointMode: 'IPv6',
      endpointUrlS3: 'http://127.0.0.1:7480',
    });
  });

  it('reads proxies in either case', () => {
    const c = ok({ https_proxy: 'http://proxy:3128', NO_PROXY: '169.254.169.254' });
    expect(c.aws).toMatchObject({ httpsProxy: 'http://proxy:3128', noProxy: '169.254.169.254' });
  });
});

describe('every problem at once', () => {
  it('an env with 6 bad variables yields 6 problems, one message listing them all', () => {
    const bad: Env = {
      S3_HEALTH_PORT: '0',
      S3_HEALTH_CHECKS: 'imds,bogus',
      S3_HEALTH_FAILURE_THRESHOLD: 'many',
      S3_HEALTH_SSE: 'kms',
      S3_HEALTH_LOG_LEVEL: 'loud',
      S3_HEALTH_EXPECTED_ACCOUNT: '123',
    };
    const list = problems(bad);
    expect(list.map((p) => p.variable).sort()).toEqual(Object.keys(bad).sort());
    const text = formatProblems(list);
    expect(text.split('\n')[0]).toBe('s3-health: invalid configuration (6 problems):');
    expect(text.split('\n')).toHaveLength(7);
    for (const [name, value] of Object.entries(bad)) {
      expect(text).toContain(`${name}=${JSON.stringify(value)}`);
    }
  });

  it('says "1 problem" for one', () => {
    expect(formatProblems(problems({ S3_HEALTH_PORT: 'x' })).split('\n')[0]).toBe(
      's3-health: invalid configuration (1 problem):',
    );
  });

  it('shortens very long values in the message', () => {
    const text = formatProblems(problems({ S3_HEALTH_PREFIX: 'b'.repeat(500) }));
    expect(text).not.toContain('b'.repeat(81));
    expect(text).toContain('...');
  });
});

describe('bucket', () => {
  it('comes from KB_STORAGE_URI', () => {
    expect(ok({ KB_STORAGE_URI: 's3://other-bucket/some/prefix/' }).bucket).toBe('other-bucket');
    expect(ok({ KB_STORAGE_URI: 's3://other-bucket' }).bucket).toBe('other-bucket');
  });

  it('S3_HEALTH_BUCKET overrides it', () => {
    expect(ok({ S3_HEALTH_BUCKET: 'probe-bucket' }).bucket).toBe('probe-bucket');
  });

  it('a local KB_STORAGE_URI names no bucket: s3 needs S3_HEALTH_BUCKET then', () => {
    const list = problems({ KB_STORAGE_URI: 'file:///data/kb' });
    expect(list.map((p) => p.variable)).toEqual(['S3_HEALTH_BUCKET']);
    expect(ok({ KB_STORAGE_URI: '/data/kb', S3_HEALTH_BUCKET: 'b-1' }).bucket).toBe('b-1');
  });

  it('no bucket is fine when s3 is not checked', () => {
    const r = parseConfig({ S3_HEALTH_CHECKS: 'imds,credentials' }, HOST);
    expect(r.ok && r.config.bucket).toBeUndefined();
  });

  it('an invalid bucket in KB_STORAGE_URI is blamed on KB_STORAGE_URI', () => {
    expectClearProblem(
      problems({ KB_STORAGE_URI: 's3://Bad_Bucket/kb/' }),
      'KB_STORAGE_URI',
      's3://Bad_Bucket/kb/',
    );
  });
});

describe('cross-field rules', () => {
  it('rejects a timeout longer than the interval', () => {
    const list = problems({ S3_HEALTH_INTERVAL_SECONDS: '10', S3_HEALTH_TIMEOUT_SECONDS: '11' });
    expect(list).toHaveLength(1);
    expectClearProblem(list, 'S3_HEALTH_TIMEOUT_SECONDS', '11');
    expect(ok({ S3_HEALTH_INTERVAL_SECONDS: '10', S3_HEALTH_TIMEOUT_SECONDS: '10' })).toMatchObject(
      {
        intervalSeconds: 10,
        timeoutSeconds: 10,
      },
    );
  });

  it('rejects fail seconds greater than warn seconds', () => {
    const list = problems({
      S3_HEALTH_CREDENTIALS_WARN_SECONDS: '600',
      S3_HEALTH_CREDENTIALS_FAIL_SECONDS: '601',
    });
    expect(list).toHaveLength(1);
    expectClearProblem(list, 'S3_HEALTH_CREDENTIALS_FAIL_SECONDS', '601');
  });

  // Regression, fixed in src/config/parse.ts: the cross-field rules compare against the
  // fallback default of a set-but-invalid number, so one bad variable yields
  // two problems, the second about a value nobody wrote (here "longer than
  // S3_HEALTH_INTERVAL_SECONDS (1)" for a timeout of "abc", judged as 5).
  it('one bad number yields one problem, not a second from its default', () => {
    expect(
      problems({ S3_HEALTH_INTERVAL_SECONDS: '1', S3_HEALTH_TIMEOUT_SECONDS: 'abc' }),
    ).toHaveLength(1);
  });

  it('rejects an unknown S3_HEALTH_ variable (a typo would silently fall back)', () => {
    const list = problems({ S3_HEALTH_INTERVAL: '10' });
    expectClearProblem(list, 'S3_HEALTH_INTERVAL', '10');
    expect(list[0]?.problem).toBe('unknown variable');
    expect(list[0]?.allowed).toContain('S3_HEALTH_INTERVAL_SECONDS');
  });

  it('rejects a KMS key without aws:kms', () => {
    expect(problems({ S3_HEALTH_KMS_KEY_ID: 'alias/kb' }).map((p) => p.variable)).toEqual([
      'S3_HEALTH_KMS_KEY_ID',
    ]);
  });

  it('rejects a hostname that cannot be part of a key', () => {
    expect(problems({}, 'host_with/slash').map((p) => p.variable)).toEqual(['HOSTNAME']);
  });
});

describe('AWS_EC2_METADATA_DISABLED as the JS SDK reads it', () => {
  it('unset: IMDS on', () => {
    expect(ok({}).aws.imdsDisabled).toBe(false);
  });
  it.each(['true', 'TRUE', '1', 'yes', 'False', 'anything'])('%j disables IMDS', (v) => {
    const c = ok({ AWS_EC2_METADATA_DISABLED: v });
    expect(c.aws.imdsDisabled).toBe(true);
    expect(c.aws.imdsDisabledRaw).toBe(v);
  });
  it('"false" (exactly) keeps it on', () => {
    expect(ok({ AWS_EC2_METADATA_DISABLED: 'false' }).aws.imdsDisabled).toBe(false);
  });
  it.each(['true', 'x'])('AWS_EC2_METADATA_V1_DISABLED=%j disables v1', (v) => {
    expect(ok({ AWS_EC2_METADATA_V1_DISABLED: v }).aws.imdsV1Disabled).toBe(true);
  });

  // Regression, fixed in src/config/parse.ts parseAws: the SDK tests the variable for
  // truthiness first (`process.env[X] && process.env[X] !== "false"` in
  // @aws-sdk/credential-provider-node remoteProvider; `!!envValue && ...` in
  // @smithy/credential-provider-imds for V1_DISABLED), so an empty value (a
  // blank line `AWS_EC2_METADATA_DISABLED=` in .env.backend) leaves IMDS on.
  // The parser treats "" as disabled, and the environment check then fails
  // with env_imds_disabled for a setup the SDK handles fine.
  it('an empty value keeps IMDS (and v1) on, as in the SDK', () => {
    const c = ok({ AWS_EC2_METADATA_DISABLED: '', AWS_EC2_METADATA_V1_DISABLED: '' });
    expect(c.aws.imdsDisabled).toBe(false);
    expect(c.aws.imdsV1Disabled).toBe(false);
  });
});

describe('secrets', () => {
  it('keeps the access key id only masked, the secret not at all', () => {
    const c = ok({
      AWS_ACCESS_KEY_ID: KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEXAMPLETOKEN',
    });
    expect(c.aws.accessKeyIdMasked).toBe('AKIA…MPLE');
    expect(c.aws.hasSecretAccessKey).toBe(true);
    const json = JSON.stringify(c);
    expect(json).not.toContain(KEY_ID);
    expect(json).not.toContain(SECRET);
    expect(json).not.toContain('IQoJb3JpZ2luX2VjEXAMPLETOKEN');
  });

  it('keeps neither in problems of a failing parse', () => {
    const r = parseConfig(
      { AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, S3_HEALTH_PORT: 'x' },
      HOST,
    );
    expect(r.ok).toBe(false);
    const json = JSON.stringify(r);
    expect(json).not.toContain(KEY_ID);
    expect(json).not.toContain(SECRET);
  });

  it('never prints the diagnose token value in formatProblems', () => {
    const short = 'short-secret';
    const text = formatProblems(problems({ S3_HEALTH_DIAGNOSE_TOKEN: short }));
    expect(text).toContain('S3_HEALTH_DIAGNOSE_TOKEN=(hidden)');
    expect(text).not.toContain(short);
    const other = formatProblems(
      problems({ S3_HEALTH_DIAGNOSE_TOKEN: TOKEN, S3_HEALTH_PORT: '0' }),
    );
    expect(other).not.toContain(TOKEN);
  });

  // Regression, fixed in src/config/parse.ts formatProblems: a typo in the token's variable
  // name (S3_HEALTH_DIAGNOSE_TOKN) is an "unknown variable" whose value, the
  // token itself, is printed on stderr (and by `s3-health config`).
  it('never prints the value of a mistyped token variable', () => {
    const text = formatProblems(problems({ S3_HEALTH_DIAGNOSE_TOKN: TOKEN }));
    expect(text).not.toContain(TOKEN);
  });
});

// Values each variable's reader must either take (inside its range) or name in a problem.
const NUMERIC: Record<string, { key: keyof Config; min: number; max: number; integer: boolean }> = {
  S3_HEALTH_PORT: { key: 'port', min: 1, max: 65535, integer: true },
  S3_HEALTH_INTERVAL_SECONDS: { key: 'intervalSeconds', min: 0.1, max: 86400, integer: false },
  S3_HEALTH_TIMEOUT_SECONDS: { key: 'timeoutSeconds', min: 0.05, max: 300, integer: false },
  S3_HEALTH_FAILURE_THRESHOLD: { key: 'failureThreshold', min: 1, max: 100, integer: true },
  S3_HEALTH_SUCCESS_THRESHOLD: { key: 'successThreshold', min: 1, max: 100, integer: true },
  S3_HEALTH_CREDENTIALS_WARN_SECONDS: {
    key: 'credentialsWarnSeconds',
    min: 0,
    max: 43200,
    integer: true,
  },
  S3_HEALTH_CREDENTIALS_FAIL_SECONDS: {
    key: 'credentialsFailSeconds',
    min: 0,
    max: 43200,
    integer: true,
  },
};

/** Strings near every boundary plus noise: what an operator's typo or a template bug produces. */
function valueArb(): fc.Arbitrary<string> {
  const boundary = fc
    .constantFrom(
      -1,
      0,
      0.04,
      0.05,
      0.09,
      0.1,
      1,
      1.5,
      100,
      101,
      300,
      301,
      43200,
      43201,
      65535,
      65536,
      86400,
      86401,
      1e21,
    )
    .map(String);
  return fc.oneof(
    boundary,
    fc.integer({ min: -10, max: 100_000 }).map(String),
    fc.double({ noNaN: false }).map(String),
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.constantFrom('true', 'false', '1', '0', 'AES256', 'aws:kms', 'info', 'imds,s3', ' 5 '),
  );
}

const ALL_VARS = [
  ...Object.keys(NUMERIC),
  'S3_HEALTH_CHECKS',
  'S3_HEALTH_BUCKET',
  'S3_HEALTH_PREFIX',
  'S3_HEALTH_SSE',
  'S3_HEALTH_KMS_KEY_ID',
  'S3_HEALTH_S3_FORCE_PATH_STYLE',
  'S3_HEALTH_METRICS_HISTOGRAMS',
  'S3_HEALTH_EXPECTED_ACCOUNT',
  'S3_HEALTH_EXPECTED_ROLE',
  'S3_HEALTH_DIAGNOSE_TOKEN',
  'S3_HEALTH_LOG_LEVEL',
  'KB_STORAGE_URI',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_EC2_METADATA_SERVICE_ENDPOINT',
  'AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE',
  'AWS_ENDPOINT_URL_S3',
];

/** What the config must hold when the variable's value was accepted. */
function acceptedValueIsValid(name: string, value: string, c: Config): boolean {
  const v = value.trim();
  const num = NUMERIC[name];
  if (num) {
    const n = c[num.key] as number;
    return n === Number(v) && n >= num.min && n <= num.max && (!num.integer || Number.isInteger(n));
  }
  switch (name) {
    case 'S3_HEALTH_CHECKS':
      return c.checks[0] === 'environment';
    case 'S3_HEALTH_BUCKET':
      return c.bucket === v && /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v);
    case 'S3_HEALTH_PREFIX':
      return c.prefix === v && v.endsWith('/') && !v.startsWith('/') && !v.includes('//');
    case 'S3_HEALTH_SSE':
      return c.sse === v;
    case 'S3_HEALTH_KMS_KEY_ID':
      return c.kmsKeyId === v && c.sse === 'aws:kms';
    case 'S3_HEALTH_S3_FORCE_PATH_STYLE':
      return c.forcePathStyle === ['true', '1'].includes(v.toLowerCase());
    case 'S3_HEALTH_METRICS_HISTOGRAMS':
      return c.metricsHistograms === ['true', '1'].includes(v.toLowerCase());
    case 'S3_HEALTH_EXPECTED_ACCOUNT':
      return c.expectedAccount === v && /^\d{12}$/.test(v);
    case 'S3_HEALTH_EXPECTED_ROLE':
      return c.expectedRole === v;
    case 'S3_HEALTH_DIAGNOSE_TOKEN':
      return c.diagnoseToken === v && v.length >= 16 && v.length <= 256 && !/\s/.test(v);
    case 'S3_HEALTH_LOG_LEVEL':
      return c.logLevel === v;
    case 'AWS_ENDPOINT_URL_S3':
    case 'AWS_EC2_METADATA_SERVICE_ENDPOINT':
      return /^https?:/i.test(v);
    default:
      return true;
  }
}

describe('properties', () => {
  it('never throws; a set value is either taken inside its range or named in a problem', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_VARS), valueArb(), (name, value) => {
        const extra: Env = name === 'S3_HEALTH_KMS_KEY_ID' ? { S3_HEALTH_SSE: 'aws:kms' } : {};
        // Keep the cross-field partner out of the way so a valid value stays valid.
        if (name === 'S3_HEALTH_INTERVAL_SECONDS')
          Object.assign(extra, { S3_HEALTH_TIMEOUT_SECONDS: '0.05' });
        if (name === 'S3_HEALTH_TIMEOUT_SECONDS')
          Object.assign(extra, { S3_HEALTH_INTERVAL_SECONDS: '86400' });
        if (name === 'S3_HEALTH_CREDENTIALS_WARN_SECONDS')
          Object.assign(extra, { S3_HEALTH_CREDENTIALS_FAIL_SECONDS: '0' });
        if (name === 'S3_HEALTH_CREDENTIALS_FAIL_SECONDS')
          Object.assign(extra, { S3_HEALTH_CREDENTIALS_WARN_SECONDS: '43200' });
        const r = parseConfig({ ...BASE, ...extra, [name]: value }, HOST);
        if (value.trim() === '') return true; // blank is unset by design
        if (r.ok) return acceptedValueIsValid(name, value, r.config);
        // A KB_STORAGE_URI that is no s3:// URI names no bucket: then S3_HEALTH_BUCKET is missing.
        const blamed = name === 'KB_STORAGE_URI' ? [name, 'S3_HEALTH_BUCKET'] : [name];
        return r.problems.some((p) => blamed.includes(p.variable));
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws for any whole environment, and problems always name a variable', () => {
    const envArb = fc.dictionary(
      fc.oneof(
        fc.constantFrom(...ALL_VARS, 'S3_HEALTH_HOST', 'AWS_EC2_METADATA_DISABLED'),
        fc.string(),
      ),
      valueArb(),
      { maxKeys: 8 },
    );
    fc.assert(
      fc.property(envArb, fc.string(), (env, hostname) => {
        const r = parseConfig(env, hostname);
        if (r.ok) return r.config.hostname === hostname && r.config.prefix.endsWith('/');
        const text = formatProblems(r.problems);
        return r.problems.every((p) => p.variable !== '' && text.includes(p.variable));
      }),
      { numRuns: 1000 },
    );
  });

  it('the access key id and the secret never survive parsing', () => {
    const keyId = fc
      .stringMatching(/^(AKIA|ASIA)[A-Z2-7]{16}$/)
      .filter((k) => !k.includes('EXAMPLE'));
    const secret = fc.stringMatching(/^[A-Za-z0-9/+]{40}$/);
    fc.assert(
      fc.property(keyId, secret, fc.boolean(), (id, sec, broken) => {
        const env: Env = { ...BASE, AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: sec };
        if (broken) Object.assign(env, { S3_HEALTH_PORT: 'nope' });
        const r = parseConfig(env, HOST);
        const json = JSON.stringify(r) + (r.ok ? '' : formatProblems(r.problems));
        return !json.includes(id) && !json.includes(sec);
      }),
    );
  });

  // Regression, fixed in src/config/parse.ts: S3_HEALTH_HOST takes any string ("not a host",
  // "0.0.0.0:8080"); the mistake surfaces only when listen() fails, after the
  // checks started, instead of in the one message with exit 78.
  it('S3_HEALTH_HOST is validated like the other variables', () => {
    for (const bad of ['not a host', '0.0.0.0:8080', 'http://0.0.0.0']) {
      expectClearProblem(problems({ S3_HEALTH_HOST: bad }), 'S3_HEALTH_HOST', bad);
    }
  });

  it('S3_HEALTH_HOST accepts addresses and names', () => {
    for (const good of ['0.0.0.0', '::', '127.0.0.1', 'localhost', 'sidecar.internal']) {
      expect(ok({ S3_HEALTH_HOST: good }).host).toBe(good);
    }
  });
});
