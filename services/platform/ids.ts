import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

/** Random bytes drawn from the system in blocks: one getrandom call per 1,024 ids rather than one per id (it showed
 *  in the profiles of the hot paths, where each notification takes several ids). */
const RANDOM_BYTES_PER_ID = 6;
const pool = Buffer.alloc(RANDOM_BYTES_PER_ID * 1024);
let poolOffset = pool.length;

function randomHex(): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + RANDOM_BYTES_PER_ID);
  poolOffset += RANDOM_BYTES_PER_ID;
  return hex;
}

/**
 * A new unique id such as `rev_0m3k9x2a1000a1b2c3d4e5f6`: the prefix names the kind, then a time part so ids
 * sort in creation order (within a process, strictly), then randomness so processes never collide.
 */
export function newId(prefix: string): string {
  const now = Math.max(Date.now(), lastMs);
  sequence = now === lastMs ? sequence + 1 : 0;
  lastMs = now;
  const time = now.toString(36).padStart(9, '0');
  const seq = sequence.toString(36).padStart(4, '0');
  return `${prefix}_${time}${seq}${randomHex()}`;
}
