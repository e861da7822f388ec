// An append-only journal that lets the embedded store survive a process crash (kill -9): every commit (a
// transaction, a write outside one, a TTL sweep) is appended, synchronously and in commit order, as one
// length-prefixed frame, and replayed at the next start. It survives process
// crashes, not machine crashes (no fsync): it is for `npm run start:mesh` and the crash tests on machines without
// MongoDB, not for production data.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { Doc } from './collection.js';

export type Change = { collection: string; put: Doc } | { collection: string; remove: string };

function frame(changes: Change[]): Buffer {
  const body = serialize(changes);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

/** Every complete frame in the file; a frame torn by a crash mid-write is dropped, as if never committed. */
function readFrames(path: string): Change[] {
  if (!existsSync(path)) return [];
  const data = readFileSync(path);
  const changes: Change[] = [];
  let offset = 0;
  while (offset + 4 <= data.length) {
    const length = data.readUInt32BE(offset);
    if (offset + 4 + length > data.length) break;
    changes.push(...(deserialize(data.subarray(offset + 4, offset + 4 + length)) as Change[]));
    offset += 4 + length;
  }
  return changes;
}

export class Journal {
  private fd: number;

  private constructor(private readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  /** Opens (creating) the journal and returns the changes recorded so far, oldest first. */
  static open(path: string): { journal: Journal; changes: Change[] } {
    mkdirSync(dirname(path), { recursive: true });
    const changes = readFrames(path);
    return { journal: new Journal(path), changes };
  }

  append(changes: Change[]): void {
    if (changes.length > 0) writeSync(this.fd, frame(changes));
  }

  /** Replaces the journal with one frame holding the current documents, so it does not grow without end. */
  compact(documents: Change[]): void {
    const next = `${this.path}.compact`;
    const fd = openSync(next, 'w');
    writeSync(fd, frame(documents));
    closeSync(fd);
    closeSync(this.fd);
    renameSync(next, this.path);
    this.fd = openSync(this.path, 'a');
  }

  close(): void {
    closeSync(this.fd);
  }
}
