import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../services/platform/config.js';
import { failureOf, rejectionOf } from './rejection.js';

describe('rejectionOf', () => {
  it('returns what a promise rejects with or a function throws', async () => {
    const rejected = new ConnectError('gone', Code.NotFound);
    expect(await rejectionOf(Promise.reject(rejected))).toBe(rejected);
    const thrown = new ConfigError(['PORT must be an integer']);
    const check = () => {
      throw thrown;
    };
    expect(await rejectionOf(check, ConfigError)).toBe(thrown);
  });

  it('fails the test when the attempt succeeds or fails with something else', async () => {
    await expect(rejectionOf(Promise.resolve('fine'))).rejects.toThrow('expected it to fail, but it succeeded');
    await expect(rejectionOf(() => 'fine')).rejects.toThrow('expected it to fail, but it succeeded');
    await expect(rejectionOf(Promise.reject(new Error('plain')))).rejects.toThrow(/instance of ConnectError/);
  });

  it('formats a failure as "Code: message"', async () => {
    expect(await failureOf(Promise.reject(new ConnectError('user_id: is required', Code.InvalidArgument)))).toBe('InvalidArgument: user_id: is required');
  });
});
