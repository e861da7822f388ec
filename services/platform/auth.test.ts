import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { TokenRegistry } from './auth.js';

const token = 'a-long-enough-token-123';

describe('TokenRegistry', () => {
  const { registry } = TokenRegistry.parse(`chat:${token}, bots:another-long-token-456`);

  it('knows callers by their token', () => {
    expect(registry.authenticate(`Bearer ${token}`)).toEqual({ name: 'chat' });
    expect(registry.authenticate('bearer another-long-token-456')).toEqual({ name: 'bots' });
  });

  it.each([
    [null, 'missing bearer token'],
    ['Basic abc', 'malformed Authorization header'],
    ['Bearer wrong-token-wrong-token', 'invalid bearer token'],
  ])('rejects %s as unauthenticated without echoing it', (header, message) => {
    const err = (() => {
      try {
        registry.authenticate(header);
      } catch (e) {
        return e as ConnectError;
      }
    })()!;
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.rawMessage).toContain(message);
    if (header) expect(err.rawMessage).not.toContain(header.split(' ')[1]);
  });

  it('reports malformed entries without quoting tokens', () => {
    const { problems } = TokenRegistry.parse('Bad Name:tok-tok-tok-tok-tok,short:abc,:nameless-token-value');
    expect(problems).toHaveLength(3);
    expect(problems.join(' ')).not.toMatch(/tok-tok|abc|nameless-token/);
    expect(TokenRegistry.parse('').problems).toEqual(['holds no tokens']);
  });
});
