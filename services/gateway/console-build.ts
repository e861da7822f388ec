// `npm start` serves the console from console/dist. A fresh clone has none (it is built, not committed), and a
// change to the console's sources or to the generated stubs makes it stale: then it is built here, with Vite,
// before the gateway opens (about two seconds). `npm run build:console` does the same by hand.
import { createHash } from 'node:crypto';
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The newest modification time under each path (files, or directories walked recursively), in ms. */
async function newest(paths: string[]): Promise<number> {
  let latest = 0;
  for (const p of paths) {
    const info = await stat(p).catch(() => undefined);
    if (!info) continue;
    if (!info.isDirectory()) {
      latest = Math.max(latest, info.mtimeMs);
      continue;
    }
    for (const entry of await readdir(p, { withFileTypes: true })) latest = Math.max(latest, await newest([path.join(p, entry.name)]));
  }
  return latest;
}

/** Whether console/dist is missing or older than what it is built from. */
export async function consoleIsStale(repoRoot: string): Promise<boolean> {
  const built = await stat(path.join(repoRoot, 'console/dist/index.html')).catch(() => undefined);
  if (!built) return true;
  const sources = ['console/src', 'console/index.html', 'console/vite.config.ts', 'gen'].map((p) => path.join(repoRoot, p));
  return (await newest(sources)) > built.mtimeMs;
}

const LOCK_STALE_MS = 120_000;

/**
 * Builds the console when it is stale; returns whether it did. One build at a time per checkout (test files run in
 * parallel, and a build empties console/dist first): the others wait for it, then find the console fresh.
 */
export async function ensureConsoleBuilt(repoRoot: string): Promise<boolean> {
  if (!(await consoleIsStale(repoRoot))) return false;
  const lock = path.join(tmpdir(), `pulse-console-build-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 16)}.lock`);
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A build that died leaves its lock behind: take it over once it is clearly too old.
      const held = await stat(lock).catch(() => undefined);
      if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) await rm(lock, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    if (!(await consoleIsStale(repoRoot))) return false;
    // Vite is a development dependency, loaded only when a build is needed.
    const { build } = await import('vite');
    await build({ configFile: path.join(repoRoot, 'console/vite.config.ts'), logLevel: 'warn' });
    return true;
  } finally {
    await rm(lock, { force: true });
  }
}
