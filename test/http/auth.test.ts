// Pure logic: which token a request presents, and what the caller may see.
import { describe, expect, it } from 'vitest';
import {
  accessFor,
  challenges,
  mayDiagnose,
  maySeeIdentity,
  presentedToken,
  tokenMatches,
} from '../../src/http/auth.ts';

const TOKEN = 'diagnose-token-0123456789';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('presentedToken', () => {
  it('reads a Bearer token, any case of the scheme', () => {
    expect(presentedToken(`Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(presentedToken(`bearer ${TOKEN}`)).toBe(TOKEN);
  });

  it('reads the password of HTTP Basic, whatever the user name', () => {
    expect(presentedToken(basic('', TOKEN))).toBe(TOKEN);
    expect(presentedToken(basic('oncall', TOKEN))).toBe(TOKEN);
    // A password may itself contain a colon: only the first one splits.
    expect(presentedToken(basic('u', 'a:b'))).toBe('a:b');
  });

  it('presents nothing for absent, malformed or other schemes', () => {
    expect(presentedToken(undefined)).toBeUndefined();
    expect(presentedToken('')).toBeUndefined();
    expect(presentedToken(TOKEN)).toBeUndefined();
    expect(presentedToken(`Digest ${TOKEN}`)).toBeUndefined();
    expect(presentedToken(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
  });
});

describe('tokenMatches', () => {
  it('matches only the exact token', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(tokenMatches(TOKEN.slice(1), TOKEN)).toBe(false);
    expect(tokenMatches('', TOKEN)).toBe(false);
    expect(tokenMatches(undefined, TOKEN)).toBe(false);
  });
});

describe('accessFor', () => {
  it('is open without a configured token, whatever is presented', () => {
    expect(accessFor({}, undefined)).toBe('open');
    expect(accessFor({ authorization: 'Bearer anything' }, undefined)).toBe('open');
  });

  it('grants the token as Bearer or as Basic password, denies anything else', () => {
    expect(accessFor({ authorization: `Bearer ${TOKEN}` }, TOKEN)).toBe('granted');
    expect(accessFor({ authorization: basic('x', TOKEN) }, TOKEN)).toBe('granted');
    expect(accessFor({}, TOKEN)).toBe('denied');
    expect(accessFor({ authorization: 'Bearer nope' }, TOKEN)).toBe('denied');
    expect(accessFor({ authorization: basic(TOKEN, 'nope') }, TOKEN)).toBe('denied');
  });

  it('shows identity and runs /diagnose exactly when not denied', () => {
    expect([maySeeIdentity('open'), maySeeIdentity('granted'), maySeeIdentity('denied')]).toEqual([
      true,
      true,
      false,
    ]);
    expect([mayDiagnose('open'), mayDiagnose('granted'), mayDiagnose('denied')]).toEqual([
      true,
      true,
      false,
    ]);
  });
});

describe('challenges', () => {
  it('offers Basic first to browsers, Bearer first to the rest', () => {
    expect(challenges({ accept: 'text/html,application/xhtml+xml' })[0]).toMatch(
      /^Basic realm="s3-health"/,
    );
    expect(challenges({})[0]).toBe('Bearer realm="s3-health"');
    expect(challenges({})).toHaveLength(2);
  });
});
