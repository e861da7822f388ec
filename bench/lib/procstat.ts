// CPU time and resident memory of processes, read from /proc (Linux), so every scenario can say which process
// used the cores and how much memory it holds.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux
const PAGE_BYTES = 4096;

interface Stat {
  ppid: number;
  cpuMs: number;
  rssBytes: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is state (field 3); utime is field 14, stime 15, rss 24.
    return {
      ppid: Number(fields[1]),
      cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND,
      rssBytes: Number(fields[21]) * PAGE_BYTES,
    };
  } catch {
    return undefined;
  }
}

/** The process and all its descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(pid);
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  return out;
}

export function cpuMs(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (readStat(pid)?.cpuMs ?? 0), 0);
}

export function rssBytes(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (readStat(pid)?.rssBytes ?? 0), 0);
}

/** The RabbitMQ server's Erlang VM, if it runs on this machine. */
export function brokerPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      // The server's VM boots the rabbit application; rabbitmqctl's short-lived VMs do not.
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('beam.smp') && cmd.includes('-s\0rabbit\0boot')) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Busy CPU time of the whole machine (every core), ms. */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1000) / TICKS_PER_SECOND;
}

/**
 * CPU used by named processes over a phase, as a share of one core (1.0 = one core busy all the time), plus
 * `other`: what the rest of the machine used meanwhile (someone else's work competing for the same cores).
 */
export class CpuMeter {
  private start = new Map<string, number>();
  private startedAt = 0;
  private machineStart = 0;

  constructor(private readonly processes: () => Record<string, number[]>) {}

  begin(): void {
    this.startedAt = performance.now();
    this.machineStart = machineBusyMs();
    this.start = new Map(Object.entries(this.processes()).map(([name, pids]) => [name, cpuMs(pids)]));
  }

  /** Cores used by each process since begin(), and by everything else as `other`. */
  end(): Record<string, number> {
    const elapsed = performance.now() - this.startedAt;
    const out: Record<string, number> = {};
    let ours = 0;
    for (const [name, pids] of Object.entries(this.processes())) {
      const used = cpuMs(pids) - (this.start.get(name) ?? 0);
      ours += used;
      out[name] = Math.round((used / elapsed) * 100) / 100;
    }
    out.other = Math.max(0, Math.round(((machineBusyMs() - this.machineStart - ours) / elapsed) * 100) / 100);
    return out;
  }
}

/**
 * Waits (up to maxWaitMs) until processes other than ours use less than `cores` of the machine over a second,
 * so a measurement does not start while someone else's build or test run holds the cores. Returns the load seen.
 */
export async function waitQuiet(ours: () => number[], cores = 0.25, maxWaitMs = 120_000): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const m0 = machineBusyMs();
    const o0 = cpuMs(ours());
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const other = (machineBusyMs() - m0 - (cpuMs(ours()) - o0)) / (performance.now() - t0);
    if (other < cores || Date.now() > deadline) return Math.round(other * 100) / 100;
  }
}
