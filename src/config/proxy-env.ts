/**
 * The proxy the application's own SDK takes, decided exactly as botocore
 * decides it (the runbook's services are Python): urllib's
 * `getproxies_environment()` reads the variables, `proxy_bypass_environment()`
 * reads NO_PROXY, and botocore picks the proxy by the request URL's scheme.
 * Written here rather than taken from a library because the libraries that
 * read these variables (proxy-from-env, Node's NODE_USE_ENV_PROXY) read
 * NO_PROXY differently (wildcards, CIDR, `*` inside a list): matching the
 * app's SDK is the point. `test/config/proxy-env.test.ts` runs Python's own
 * functions as the oracle.
 */

import type { ProxyVars } from '../model/config.ts';

type Env = Record<string, string | undefined>;

/**
 * urllib's `getproxies_environment()`: any case first, then lowercase wins;
 * an empty lowercase value removes the scheme even where the uppercase one is
 * set. Under CGI (`REQUEST_METHOD` set) uppercase `HTTP_PROXY` is ignored
 * (CVE-2016-1000110).
 */
export function proxyVarsOf(env: Env): ProxyVars {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const lower = name.toLowerCase();
    if (value && lower.endsWith('_proxy')) out[lower.slice(0, -6)] = value;
  }
  if (env.REQUEST_METHOD !== undefined) delete out.http;
  for (const [name, value] of Object.entries(env)) {
    if (!name.endsWith('_proxy')) continue;
    const scheme = name.toLowerCase().slice(0, -6);
    if (value) out[scheme] = value;
    else delete out[scheme];
  }
  return out;
}

/** urllib's `_splitport`: a trailing `:digits` is the port. */
function hostOnly(netloc: string): string {
  const m = /^(.*):([0-9]*)$/s.exec(netloc);
  return m === null ? netloc : (m[1] ?? '');
}

/**
 * urllib's `proxy_bypass_environment(netloc)`: NO_PROXY entries are DNS
 * suffixes (a leading `.` ignored), compared with the host and with
 * host:port; only a NO_PROXY of exactly `*` bypasses everything. No CIDR: an
 * IP literal matches only itself.
 */
export function bypassesProxy(netloc: string, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  if (noProxy === '*') return true;
  const host = netloc.toLowerCase();
  const only = hostOnly(host);
  for (const raw of noProxy.split(',')) {
    // Python's strip() takes whitespace; lstrip('.') every leading dot.
    let name = raw.trim();
    if (name === '') continue;
    name = name.replace(/^\.+/, '').toLowerCase();
    if (only === name || host === name) return true;
    const suffix = `.${name}`;
    if (only.endsWith(suffix) || host.endsWith(suffix)) return true;
  }
  return false;
}

/** botocore's `_fix_proxy_url`: a proxy given without a scheme is `http://`. */
function fixProxyUrl(proxy: string): string {
  if (proxy.startsWith('http:') || proxy.startsWith('https:')) return proxy;
  if (proxy.startsWith('//')) return `http:${proxy}`;
  return `http://${proxy}`;
}

/**
 * The proxy botocore sends a request for `url` through, or undefined for a
 * direct connection: none where NO_PROXY exempts the URL's netloc, else the
 * variable named by the URL's scheme. Invalid proxy URLs are undefined too;
 * the config parser reports them.
 */
export function proxyFor(url: URL, vars: ProxyVars): URL | undefined {
  if (bypassesProxy(url.host, vars.no)) return undefined;
  const proxy = vars[url.protocol.slice(0, -1)];
  if (proxy === undefined) return undefined;
  try {
    return new URL(fixProxyUrl(proxy));
  } catch {
    return undefined;
  }
}
