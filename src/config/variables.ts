import type { Config } from '../model/config.ts';

/** A value as the default of a variable: what `parseConfig` falls back to. */
type Default = string | number | boolean | undefined;

interface Variable {
  /** The Config field the variable sets. */
  field: keyof Config;
  default: Default;
  /** How the docs show the default when it is not a plain value. */
  shown?: string;
  meaning: string;
}

/**
 * The sidecar's own variables: the parser takes its defaults and the set of
 * known names from here, docs/configuration.md is rendered from it, and the
 * tests check both against it. Adding a variable starts with a row here.
 */
export const VARIABLES = {
  S3_HEALTH_PORT: { field: 'port', default: 8080, meaning: 'listen port' },
  S3_HEALTH_HOST: { field: 'host', default: '0.0.0.0', meaning: 'listen address' },
  S3_HEALTH_CHECKS: {
    field: 'checks',
    default: 'imds,credentials,s3',
    meaning: 'which checks run (`environment` always runs)',
  },
  S3_HEALTH_INTERVAL_SECONDS: {
    field: 'intervalSeconds',
    default: 30,
    meaning: 'time between the starts of two probe cycles',
  },
  S3_HEALTH_TIMEOUT_SECONDS: {
    field: 'timeoutSeconds',
    default: 5,
    meaning: 'deadline of one check in a cycle',
  },
  S3_HEALTH_FAILURE_THRESHOLD: {
    field: 'failureThreshold',
    default: 2,
    meaning: 'consecutive failed cycles before a check reports `fail`',
  },
  S3_HEALTH_SUCCESS_THRESHOLD: {
    field: 'successThreshold',
    default: 1,
    meaning: 'consecutive passing cycles before it reports `pass` again',
  },
  S3_HEALTH_BUCKET: {
    field: 'bucket',
    default: undefined,
    shown: 'from `KB_STORAGE_URI`',
    meaning: 'bucket to probe',
  },
  S3_HEALTH_PREFIX: {
    field: 'prefix',
    default: 'healthcheck/',
    meaning:
      'where probe objects go; the sidecar writes only below `PREFIX + <instance-id>/<hostname>/` (`PREFIX + <hostname>/` where no instance id is known)',
  },
  S3_HEALTH_SSE: {
    field: 'sse',
    default: undefined,
    meaning: '`AES256` or `aws:kms` for the probe PUT',
  },
  S3_HEALTH_KMS_KEY_ID: {
    field: 'kmsKeyId',
    default: undefined,
    meaning:
      'key for `aws:kms`; HEAD must show this key (an alias is verified against its target key, or reported as unverified: never passed silently)',
  },
  S3_HEALTH_S3_FORCE_PATH_STYLE: {
    field: 'forcePathStyle',
    default: false,
    meaning: 'for S3-compatible stores',
  },
  S3_HEALTH_EXPECTED_ACCOUNT: {
    field: 'expectedAccount',
    default: undefined,
    meaning: 'fail when STS says another account',
  },
  S3_HEALTH_EXPECTED_ROLE: {
    field: 'expectedRole',
    default: undefined,
    meaning: 'fail when the caller is not this role (name or ARN)',
  },
  S3_HEALTH_CREDENTIALS_WARN_SECONDS: {
    field: 'credentialsWarnSeconds',
    default: 900,
    meaning: 'warn when credentials expire sooner',
  },
  S3_HEALTH_CREDENTIALS_FAIL_SECONDS: {
    field: 'credentialsFailSeconds',
    default: 300,
    meaning: 'fail when they expire sooner (or have expired)',
  },
  S3_HEALTH_DIAGNOSE_TOKEN: {
    field: 'diagnoseToken',
    default: undefined,
    meaning:
      'when set, `/diagnose` requires it (`Authorization: Bearer <token>`, or HTTP Basic with the token as password so a browser can log in), and `/`, `?verbose` show no identity or fixes without it',
  },
  S3_HEALTH_DIAGNOSE_MIN_INTERVAL_SECONDS: {
    field: 'diagnoseMinIntervalSeconds',
    default: 10,
    meaning:
      'at most one live `/diagnose` run per this many seconds; callers in between get the last live report, marked with its age',
  },
  S3_HEALTH_HISTORY_CYCLES: {
    field: 'historyCycles',
    default: 360,
    meaning: 'cycles of verdicts kept in memory per check (1 to 10000; lost on restart)',
  },
  S3_HEALTH_METRICS_HISTOGRAMS: {
    field: 'metricsHistograms',
    default: false,
    meaning: 'also export duration histograms (more series)',
  },
  S3_HEALTH_LOG_LEVEL: { field: 'logLevel', default: 'info', meaning: 'pino level' },
} as const satisfies Record<`S3_HEALTH_${string}`, Variable>;

export type VariableName = keyof typeof VARIABLES;

export const VARIABLE_NAMES = Object.keys(VARIABLES) as VariableName[];

function shownDefault(v: Variable): string {
  if (v.shown !== undefined) return v.shown;
  return v.default === undefined ? 'none' : `\`${String(v.default)}\``;
}

/** The table docs/configuration.md shows, rendered from VARIABLES. */
export function variableTable(): string {
  const rows = VARIABLE_NAMES.map((name) => {
    const v: Variable = VARIABLES[name];
    return `| \`${name}\` | ${shownDefault(v)} | ${v.meaning} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
