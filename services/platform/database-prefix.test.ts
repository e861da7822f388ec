import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, EnvReader } from './config.js';
import { readPlatformConfig } from './service.js';
import { openStore } from './store/open.js';

const TOKENS = { PULSE_API_TOKENS: 'dev:0123456789abcdef0123:admin' };

function read(env: Record<string, string>): { prefix: string; problems: string[] } {
  const reader = new EnvReader({ ...TOKENS, ...env });
  const { databasePrefix } = readPlatformConfig(reader, { name: 'status', peers: [] });
  try {
    reader.check();
    return { prefix: databasePrefix, problems: [] };
  } catch (err) {
    return { prefix: databasePrefix, problems: (err as ConfigError).problems };
  }
}

describe('PULSE_DATABASE_PREFIX', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('defaults to pulse_ and takes a run-specific prefix', () => {
    expect(read({})).toEqual({ prefix: 'pulse_', problems: [] });
    expect(read({ PULSE_DATABASE_PREFIX: 'bench_k3x9_' })).toEqual({ prefix: 'bench_k3x9_', problems: [] });
  });

  it('refuses a prefix MongoDB could not name a database with', () => {
    expect(read({ PULSE_DATABASE_PREFIX: 'a/b.' }).problems).toEqual([expect.stringMatching(/^PULSE_DATABASE_PREFIX must be letters, digits/)]);
  });

  it('names the embedded store journal after the prefix', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'pulse-prefix-'));
    dirs.push(dir);
    const store = await openStore('status', undefined, dir, 'bench_');
    await store.collection('things').insertOne({ _id: 'a' });
    await store.close();
    expect(existsSync(join(dir, 'bench_status.journal'))).toBe(true);
    expect(existsSync(join(dir, 'pulse_status.journal'))).toBe(false);
  });
});
