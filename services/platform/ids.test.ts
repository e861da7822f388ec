import { expect, it } from 'vitest';
import { newId } from './ids.js';

it('makes ids that are unique, in creation order and random past the pool of random bytes', () => {
  const ids = Array.from({ length: 5_000 }, () => newId('ntf')); // several refills of the random pool
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(ids);
  for (const id of ids) expect(id).toMatch(/^ntf_[0-9a-z]{13}[0-9a-f]{12}$/);
  // The random parts differ from one id to the next (not one block repeated).
  expect(new Set(ids.map((id) => id.slice(-12))).size).toBe(ids.length);
});
