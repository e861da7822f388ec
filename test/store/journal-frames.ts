// The number of frames (commits) in an embedded store's journal file.
import { readFileSync } from 'node:fs';

export function journalFrames(path: string): number {
  const data = readFileSync(path);
  let frames = 0;
  for (let offset = 0; offset + 4 <= data.length; offset += 4 + data.readUInt32BE(offset)) frames++;
  return frames;
}
