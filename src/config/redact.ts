import type { Config } from '../model/config.ts';
import { redactUrl } from './mask.ts';

/** Configuration as reports may show it: no diagnose token, no proxy passwords. */
export function redactConfig(config: Config): Record<string, unknown> {
  // The ms fields repeat the seconds shown, converted; reports keep the operator's units.
  const { diagnoseToken, aws: fullAws, intervalMs: _i, timeoutMs: _t, ...rest } = config;
  // Every *_proxy variable, passwords included: shown as the three below, masked.
  const { proxyVars: _p, ...aws } = fullAws;
  return {
    ...rest,
    diagnoseTokenSet: diagnoseToken !== undefined,
    aws: {
      ...aws,
      httpProxy: redactUrl(aws.httpProxy),
      httpsProxy: redactUrl(aws.httpsProxy),
      imdsEndpoint: redactUrl(aws.imdsEndpoint),
      endpointUrl: redactUrl(aws.endpointUrl),
      endpointUrlS3: redactUrl(aws.endpointUrlS3),
      endpointUrlSts: redactUrl(aws.endpointUrlSts),
      endpointUrlKms: redactUrl(aws.endpointUrlKms),
      containerFullUri: redactUrl(aws.containerFullUri),
    },
  };
}
