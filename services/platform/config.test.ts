import { describe, expect, it } from 'vitest';
import { rejectionOf } from '../../test/support/rejection.js';
import { ConfigError, EnvReader } from './config.js';

describe('EnvReader', () => {
  it('uses defaults for unset or blank variables and parses set ones', () => {
    const env = new EnvReader({ PORT: '9000', BLANK: '  ', FLAG: 'yes' });
    expect(env.int('PORT', 1)).toBe(9000);
    expect(env.int('BLANK', 7)).toBe(7);
    expect(env.bool('FLAG', false)).toBe(true);
    expect(env.string('MISSING', 'x')).toBe('x');
    env.check();
  });

  it('reports every bad value together, each naming its variable', async () => {
    const env = new EnvReader({ PORT: 'abc', RATIO: '2', MODE: 'fast', AMQP_URL: 'http://user:secret@host' });
    env.int('PORT', 8081, { min: 0, max: 65535 });
    env.number('RATIO', 0.5, { min: 0, max: 1 });
    env.oneOf('MODE', 'slow', ['slow', 'safe']);
    env.url('AMQP_URL', undefined, ['amqp', 'amqps']);
    env.required('PULSE_API_TOKENS', 'tokens');
    const err = await rejectionOf(() => env.check(), ConfigError);
    expect(err.problems).toHaveLength(5);
    expect(err.message).toMatch(/PORT must be an integer from 0 to 65535 \(got "abc"\)/);
    expect(err.message).toMatch(/RATIO must be a number from 0 to 1/);
    expect(err.message).toMatch(/MODE must be one of slow, safe/);
    expect(err.message).toMatch(/AMQP_URL must be a URL with scheme amqp or amqps/);
    expect(err.message).toMatch(/PULSE_API_TOKENS is required/);
    expect(err.message).not.toContain('secret');
  });
});
