import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse.ts';
import { redactedConfig } from '../../src/config/redact.ts';
import type { Config } from '../../src/config/schema.ts';

const TOKEN = 'diag-token-0123456789abcdef';
const PROXY_PASSWORD = 'Pr0xyPassw0rd';

function config(env: Record<string, string>): Config {
  const r = parseConfig({ KB_STORAGE_URI: 's3://acme-kb-prod/kb/', ...env }, 'host-1');
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

describe('redactedConfig (GET / and `s3-health config`)', () => {
  it('hides the diagnose token, says whether one is set', () => {
    const shown = redactedConfig(config({ S3_HEALTH_DIAGNOSE_TOKEN: TOKEN }));
    expect(shown.diagnoseToken).toBe('(set)');
    expect(JSON.stringify(shown)).not.toContain(TOKEN);
    expect(redactedConfig(config({})).diagnoseToken).toBeNull();
  });

  // BUG (src/config/redact.ts): proxy and endpoint URLs are shown as written,
  // so `http://user:password@proxy:3128` is served on GET / and printed by
  // `s3-health config`. The diagnose report already hides it
  // (redactConfig in src/report/diagnose.ts uses redactUrl from
  // src/report/scrub.ts); redactedConfig does not.
  it.fails('hides passwords in proxy and endpoint URLs', () => {
    const shown = redactedConfig(
      config({
        HTTPS_PROXY: `http://ops:${PROXY_PASSWORD}@proxy.internal:3128`,
        http_proxy: `http://ops:${PROXY_PASSWORD}@proxy.internal:3128`,
        AWS_ENDPOINT_URL_S3: `https://key:${PROXY_PASSWORD}@s3.internal`,
      }),
    );
    expect(JSON.stringify(shown)).not.toContain(PROXY_PASSWORD);
  });
});
