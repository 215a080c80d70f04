import { maskKeyId } from '../config/mask.ts';

// Error messages come from AWS, proxies and S3-compatible stores and are shown
// as they were raised; these patterns are the last line that keeps a key id
// unmasked or a secret-shaped string out of a report.
const KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;
// A secret access key is 40 characters of base64; the lookarounds keep longer
// base64 runs (x-amz-id-2, ARNs with slashes) intact.
const SECRET_KEY = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
// Session tokens are hundreds of base64 characters; nothing legitimate is that long.
const SESSION_TOKEN = /[A-Za-z0-9/+=]{120,}/g;

const REDACTED = '[redacted]';

export function scrubSecrets(text: string): string {
  return text
    .replace(SESSION_TOKEN, REDACTED)
    .replace(SECRET_KEY, (m) => (/[A-Z]/.test(m) && /[a-z]/.test(m) ? REDACTED : m))
    .replace(KEY_ID, (m) => maskKeyId(m));
}
