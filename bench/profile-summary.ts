// Summarises V8 CPU profiles (.cpuprofile, from `node --cpu-prof`, e.g. `npm run bench -- --cpu-prof`): for each
// file, the functions with the most self time, and self time grouped by where the code lives (a package under
// node_modules, a folder of ours, Node's internals, GC, idle).
//
//   tsx bench/profile-summary.ts <file-or-directory>... [--top 25] [--skip-seconds 10] [--json out.json]
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface Entry {
  name: string;
  ms: number;
  share: number;
}

export interface Summary {
  file: string;
  totalMs: number;
  busyMs: number;
  top: Entry[];
  groups: Entry[];
}

/** Where a frame's code lives: a package, one of our folders, Node itself, or V8's pseudo-frames. */
export function groupOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return '(gc)';
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(program)') return '(program)';
    return '(native)';
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const ours = /\/(services\/[^/]+(?:\/[^/]+)?|gen|bench)\//.exec(url);
  if (ours) return ours[1].replace(/\/[^/]+\.(ts|js)$/, '');
  return url;
}

function label(frame: CallFrame): string {
  const file = frame.url ? frame.url.replace(/^.*\/(node_modules\/)/, '$1').replace(/^file:\/\/.*?\/(services|gen|bench)\//, '$1/') : '';
  return `${frame.functionName || '(anonymous)'}${file ? ` ${file}:${frame.lineNumber + 1}` : ''}`;
}

/** skipMs: leave out the first milliseconds of the profile (process start-up, module loading). */
export function summarise(path: string, top = 25, skipMs = 0): Summary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    // timeDeltas[i] is the time since the previous sample: charge it to the sample after it.
    let elapsed = 0;
    for (let i = 0; i < profile.samples.length; i++) {
      elapsed += (profile.timeDeltas[i] ?? 0) / 1000;
      if (elapsed < skipMs) continue;
      const dt = profile.timeDeltas[i + 1] ?? 0;
      self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt / 1000);
    }
  } else {
    const total = (profile.endTime - profile.startTime) / 1000;
    const hits = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
    for (const node of profile.nodes) self.set(node.id, ((node.hitCount ?? 0) / hits) * total);
  }
  const fns = new Map<string, number>();
  const groups = new Map<string, number>();
  let totalMs = 0;
  for (const [id, ms] of self) {
    const frame = byId.get(id)!.callFrame;
    totalMs += ms;
    fns.set(label(frame), (fns.get(label(frame)) ?? 0) + ms);
    groups.set(groupOf(frame), (groups.get(groupOf(frame)) ?? 0) + ms);
  }
  const idle = groups.get('(idle)') ?? 0;
  const busyMs = totalMs - idle;
  const rank = (map: Map<string, number>, n: number) =>
    [...map]
      .filter(([name]) => name !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), share: Math.round((ms / busyMs) * 1000) / 10 }));
  return { file: path.split('/').slice(-2).join('/'), totalMs: Math.round(totalMs), busyMs: Math.round(busyMs), top: rank(fns, top), groups: rank(groups, 20) };
}

/** Profiles under the paths; in a directory of per-service directories, each service's main-thread profile. */
function files(paths: string[]): string[] {
  return paths.flatMap((p) => {
    if (!statSync(p).isDirectory()) return [p];
    const entries = readdirSync(p).sort();
    const direct = entries.filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f));
    // A service's directory holds its main thread's profile and the (small) tsx loader thread's: keep the largest.
    const nested = entries
      .filter((f) => statSync(join(p, f)).isDirectory())
      .flatMap((dir) => {
        const inside = readdirSync(join(p, dir)).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, dir, f));
        const largest = inside.sort((a, b) => statSync(b).size - statSync(a).size)[0];
        return largest ? [largest] : [];
      });
    return [...direct, ...nested];
  });
}

export function format(summary: Summary): string {
  const lines = [
    `\n## ${summary.file}: ${(summary.busyMs / 1000).toFixed(1)} s busy of ${(summary.totalMs / 1000).toFixed(1)} s`,
    '',
    'By where the code lives (self time, share of busy time):',
    ...summary.groups.map((g) => `  ${String(g.share).padStart(5)}%  ${String(g.ms).padStart(7)} ms  ${g.name}`),
    '',
    'Top functions (self time):',
    ...summary.top.map((f) => `  ${String(f.share).padStart(5)}%  ${String(f.ms).padStart(7)} ms  ${f.name}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, json: { type: 'string' }, 'skip-seconds': { type: 'string', default: '0' } },
  });
  const summaries = files(positionals).map((f) => summarise(f, Number(values.top), Number(values['skip-seconds']) * 1000));
  for (const s of summaries) process.stdout.write(`${format(s)}\n`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(summaries, null, 2)}\n`);
}
