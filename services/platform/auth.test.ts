import { Code } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { AUDIENCE, claims, ISSUER, mint, SECRET } from '../../test/access/support.js';
import { rejectionOf } from '../../test/support/rejection.js';
import { Authenticator, type Caller, makeCaller, parseGrants, TokenRegistry } from './auth.js';
import { JwtVerifier } from './jwt.js';
import { ALL_SCOPES, ROLE_SCOPES } from './scopes.js';

const token = 'a-long-enough-token-123';

const scopesOf = (caller: Caller) => [...caller.scopes].sort();

describe('TokenRegistry', () => {
  const { registry, problems } = TokenRegistry.parse(
    [
      `chat:${token}`,
      ' bots:another-long-token-456:bot ',
      'ann:ann-token-0123456789abcdef:reviewer+user=ann.lee',
      'crm:crm-token-0123456789abcdef:client+preferences:any+preferences:read',
      'lead:lead-token-0123456789abcd:user+inbox=team-leads+inbox=reviewers',
      'ops:ops-token+with/base64=chars:stats:read+deadletters:read',
    ].join(','),
  );

  it('parses every entry', () => expect(problems).toEqual([]));

  it('gives an entry without grants every scope (development setups), marked unscoped', () => {
    const chat = registry.authenticate(`Bearer ${token}`);
    expect(chat).toMatchObject({ name: 'chat', via: 'token', userId: 'chat', unscoped: true });
    expect(scopesOf(chat)).toEqual([...ALL_SCOPES].sort());
    expect(registry.unscopedNames()).toEqual(['chat']);
  });

  it('expands roles, adds scopes, and reads user= and inbox=', () => {
    const bot = registry.authenticate('bearer another-long-token-456');
    expect(bot).toMatchObject({ name: 'bots', userId: 'bots', inboxes: [] });
    expect(scopesOf(bot)).toEqual(['assistance:request']);
    const ann = registry.authenticate('Bearer ann-token-0123456789abcdef');
    expect(ann).toMatchObject({ name: 'ann', userId: 'ann.lee', inboxes: ['reviewers'] });
    expect(scopesOf(ann)).toEqual([...ROLE_SCOPES.reviewer].sort());
    const crm = registry.authenticate('Bearer crm-token-0123456789abcdef');
    expect(scopesOf(crm)).toEqual([...ROLE_SCOPES.client, 'preferences:any', 'preferences:read'].sort());
    expect(registry.authenticate('Bearer lead-token-0123456789abcd').inboxes).toEqual(['team-leads', 'reviewers']);
    expect(scopesOf(registry.authenticate('Bearer ops-token+with/base64=chars'))).toEqual(['deadletters:read', 'stats:read']);
  });

  it.each([
    [null, 'missing bearer token'],
    ['', 'missing bearer token'],
    ['Basic abc', 'malformed Authorization header'],
    [`Bearer ${token}, Bearer ${token}`, 'malformed Authorization header'],
    [`Token ${token}`, 'malformed Authorization header'],
    ['Bearer wrong-token-wrong-token', 'invalid bearer token'],
    [`Bearer ${token}x`, 'invalid bearer token'],
  ])('rejects %s as unauthenticated without echoing it', async (header, message) => {
    const err = await rejectionOf(() => registry.authenticate(header));
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.rawMessage).toContain(message);
    if (header) expect(err.rawMessage).not.toContain(header.split(' ')[1].replace(',', ''));
  });

  it('reports malformed entries without quoting tokens or grants', () => {
    const { problems: found } = TokenRegistry.parse(
      [
        'Bad Name:tok-tok-tok-tok-tok',
        'short:abc',
        ':nameless-token-value',
        'colon:first-half-of-token:second-half-secret',
        'empty:empty-grants-token-0123:',
        'user2:user-token-0123456789abcd:user+user=a+user=b',
        'weird:weird-token-0123456789abc:colour=blue',
        'spacey:spacey-token-0123456789a:user+inbox=two words',
        'dup1:the-same-token-0123456789',
        'dup2:the-same-token-0123456789:bot',
      ].join(','),
    );
    expect(found).toEqual([
      "entry 1 needs a name of lower-case letters, digits, '.', '_', '-' before ':'",
      `entry "short" needs a token of at least 16 characters without spaces, ',' or ':'`,
      "entry 3 needs a name of lower-case letters, digits, '.', '_', '-' before ':'",
      'entry "colon": grant 1 of 1 is neither a role (admin, reviewer, bot, service, client, user) nor a scope (docs/security.md lists them)',
      'entry "empty": grant 1 of 1 is neither a role (admin, reviewer, bot, service, client, user) nor a scope (docs/security.md lists them)',
      'entry "user2": grant 3 of 3: user= given twice',
      'entry "weird": grant 1 of 1: only user=<id> and inbox=<id> take a value',
      'entry "spacey": grant 2 of 2: inbox= needs an id of 1-128 printable characters without spaces',
      'entries "dup1" and "dup2" share a token: give each identity its own',
    ]);
    expect(found.join(' ')).not.toMatch(/tok-tok|abc|nameless-token|second-half|first-half|the-same-token|blue|two words/);
    expect(TokenRegistry.parse('').problems).toEqual(['holds no tokens']);
  });

  it('refuses entries without grants when scopes are required', () => {
    const { registry: strict, problems: found } = TokenRegistry.parse(`dev:${token},bot:bot-token-0123456789abcd:bot`, { requireScopes: true });
    expect(found).toEqual(['entry "dev" has no roles or scopes (PULSE_AUTH_REQUIRE_SCOPES is on): add ":role" or ":scope+scope"']);
    expect(strict.size).toBe(1);
  });
});

describe('parseGrants and makeCaller', () => {
  it('parses roles, scopes and attributes', () => {
    expect(parseGrants('bot+stats:read+user=u-1+inbox=x')).toEqual({ grants: ['bot', 'stats:read'], userId: 'u-1', inboxes: ['x'], problems: [] });
    expect(parseGrants('user=u-1').problems).toEqual(['grants no role or scope']);
  });

  it('ignores unknown roles and scopes (JWTs carry foreign ones) and merges shared inboxes', () => {
    const caller = makeCaller({ name: 'x', grants: ['openid', 'reviewer', 'profile', 'stats:read'], inboxes: ['reviewers', 'leads'] });
    expect(scopesOf(caller)).toEqual([...ROLE_SCOPES.reviewer, 'stats:read'].sort());
    expect(caller.inboxes).toEqual(['reviewers', 'leads']);
  });
});

describe('Authenticator', () => {
  const { registry } = TokenRegistry.parse(`chat:${token}:client`);
  const jwt = new JwtVerifier({ secret: Buffer.from(SECRET), issuer: ISSUER, audience: AUDIENCE });
  const auth = new Authenticator(registry, jwt);

  it('takes static tokens first, then JWTs', () => {
    expect(auth.authenticate(`Bearer ${token}`).name).toBe('chat');
    const caller = auth.authenticate(`Bearer ${mint({ alg: 'HS256', secret: SECRET }, claims({ sub: 'ann', roles: ['reviewer'], scope: 'stats:read openid' }))}`);
    expect(caller).toMatchObject({ name: 'ann', via: 'jwt', userId: 'ann', inboxes: ['reviewers'] });
    expect(scopesOf(caller)).toEqual([...ROLE_SCOPES.reviewer, 'stats:read'].sort());
  });

  it('says why a JWT is rejected, without quoting it', async () => {
    const expired = mint({ alg: 'HS256', secret: SECRET }, claims({ exp: 1 }));
    const err = await rejectionOf(() => auth.authenticate(`Bearer ${expired}`));
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.rawMessage).toBe('invalid bearer token: JWT has expired');
  });

  it('treats a JWT as an unknown token when JWTs are off', async () => {
    const err = await rejectionOf(() => new Authenticator(registry, undefined).authenticate(`Bearer ${mint({ alg: 'HS256', secret: SECRET }, claims())}`));
    expect(err.rawMessage).toBe('invalid bearer token');
  });
});
