// Serves the built console (console/dist): files by path, index.html for the app's own routes, with the security
// headers. Hashed assets are cached for good; index.html never, so a new build is picked up at once.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SECURITY_HEADERS } from './csp.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

/** The response to a GET of urlPath from the built console in dir. */
export async function consoleFile(dir: string, urlPath: string): Promise<StaticResponse> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return text(400, 'bad path');
  }
  const file = path.resolve(dir, `.${path.posix.normalize(decoded)}`);
  if (file !== dir && !file.startsWith(dir + path.sep)) return text(404, 'not found');
  // Paths without an extension are the app's own routes (/reviews/rev_...): the app decides what to show.
  const ext = path.extname(file);
  const target = ext ? file : path.join(dir, 'index.html');
  try {
    const body = await readFile(target);
    const immutable = target.includes(`${path.sep}assets${path.sep}`);
    return {
      status: 200,
      headers: {
        ...SECURITY_HEADERS,
        'content-type': TYPES[path.extname(target)] ?? 'application/octet-stream',
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      },
      body,
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (ext) return text(404, 'not found');
    return text(503, 'The console is not built: run `npm run build:console` (npm ci does it), then reload.');
  }
}

function text(status: number, body: string): StaticResponse {
  return { status, headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' }, body };
}
