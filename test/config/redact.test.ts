import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse.ts';
import { redactConfig } from '../../src/config/redact.ts';
import type { Config } from '../../src/model/config.ts';

const TOKEN = 'diag-token-0123456789abcdef';
const PASSWORD = 'Pr0xyPassw0rd';

function config(env: Record<string, string>): Config {
  const r = parseConfig({ KB_STORAGE_URI: 's3://acme-kb-prod/kb/', ...env }, 'host-1');
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

describe('redactConfig (GET /, `s3-health config`, /diagnose)', () => {
  it('hides the diagnose token, says whether one is set', () => {
    const shown = redactConfig(config({ S3_HEALTH_DIAGNOSE_TOKEN: TOKEN }));
    expect(shown.diagnoseTokenSet).toBe(true);
    expect(JSON.stringify(shown)).not.toContain(TOKEN);
    expect(redactConfig(config({})).diagnoseTokenSet).toBe(false);
  });

  it('hides passwords in proxy and endpoint URLs, keeps the rest readable', () => {
    const shown = redactConfig(
      config({
        HTTPS_PROXY: `http://ops:${PASSWORD}@proxy.internal:3128`,
        http_proxy: `http://ops:${PASSWORD}@proxy.internal:3128`,
        ALL_PROXY: `socks5://ops:${PASSWORD}@proxy.internal:1080`,
        AWS_ENDPOINT_URL_S3: `https://key:${PASSWORD}@s3.internal`,
        AWS_ENDPOINT_URL_STS: `https://key:${PASSWORD}@sts.internal`,
        AWS_ENDPOINT_URL: `https://key:${PASSWORD}@aws.internal`,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://u:${PASSWORD}@127.0.0.1:1338`,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://u:${PASSWORD}@127.0.0.1:9000/creds`,
      }),
    );
    const json = JSON.stringify(shown);
    expect(json).not.toContain(PASSWORD);
    expect(json).toContain('proxy.internal:3128');
  });

  it('never shows the access key id unmasked nor the secret', () => {
    const shown = JSON.stringify(
      redactConfig(
        config({
          AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        }),
      ),
    );
    expect(shown).toContain('AKIA…MPLE');
    expect(shown).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(shown).not.toContain('wJalrXUtnFEMI');
  });
});
