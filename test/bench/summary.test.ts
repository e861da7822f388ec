// The benchmark's closing table judges the targets on the durable run only, and its store choice
// defaults to the durable configuration first.
import { describe, expect, it } from 'vitest';
import { chooseStores } from '../../bench/lib/stores.js';
import { summaryTable } from '../../bench/lib/summary.js';

const pct = (p99: number) => ({ p50: p99 / 2, p99, p999: p99 });

function dispatchRun(store: 'durable' | 'memory', notificationsPerSecond: number, acceptP99: number, cpuServices: number, messages: number) {
  const phase = (name: string) => ({
    phase: name,
    notificationsPerSecond,
    brokerMessagesPerNotification: messages,
    cpuMsPerNotification: { services: cpuServices, total: cpuServices + 0.5 },
    latencyMs: { accept: pct(acceptP99) },
  });
  return { store, max: phase('max'), phases: [phase('max'), phase('50%')] };
}

function row(rows: { target: string; measured: unknown; verdict: string }[], start: string) {
  const found = rows.find((r) => r.target.startsWith(start));
  if (!found) throw new Error(`no row starting "${start}"`);
  return found;
}

describe('bench summary', () => {
  it('judges the mesh targets on the durable run, whatever the memory-only run reached', () => {
    const { rows } = summaryTable({
      broker: { best: { messagesPerSecond: 15_000 } },
      dispatch: { runs: [dispatchRun('durable', 190, 120, 10, 9), dispatchRun('memory', 1_200, 10, 1.5, 3)] },
      monitoring: {
        runs: [
          {
            store: 'durable',
            maxima: { batched: 820, single: NaN },
            phases: [
              { phase: 'max batched', throughput: 820, brokerMessagesPerInteraction: 2.6, cpuMsPerInteraction: { services: 2, total: 2.5 }, latencyMs: { delivered: pct(400) } },
              { phase: '50% batched', throughput: 410, latencyMs: { delivered: pct(200) } },
            ],
          },
        ],
      },
    });
    expect(row(rows, 'dispatch (durable): >= 1,000').verdict).toBe('missed');
    expect(row(rows, 'dispatch (durable): >= 1,000').measured).toBe("190/s; 1710 broker msg/s = 11% of the broker's 15000/s");
    expect(row(rows, 'dispatch (durable): p99 accept').verdict).toBe('missed');
    expect(row(rows, 'dispatch (durable): CPU per notification').verdict).toBe('missed');
    expect(row(rows, 'dispatch (durable): broker messages').verdict).toBe('missed');
    // One mode run: its maximum counts, the other mode's NaN does not hide it.
    expect(row(rows, 'monitoring (durable): >= 2,500').measured).toMatch(/^820\/s/);
    expect(row(rows, 'monitoring (durable): p99 submit').verdict).toBe('met');
    expect(row(rows, 'side row, memory only').measured).toBe('dispatch 1200 notifications/s');
  });

  it('reports a target as not measured when the durable run is missing', () => {
    const { rows } = summaryTable({ dispatch: { runs: [dispatchRun('memory', 1_200, 10, 1.5, 3)] } });
    expect(row(rows, 'dispatch (durable): >= 1,000').verdict).toBe('n/a');
    expect(rows.some((r) => r.target.startsWith('RPC'))).toBe(false);
  });

  it('runs durable first, memory beside it in full runs, MongoDB only with a URI', () => {
    expect(chooseStores(undefined, 'smoke', undefined)).toEqual(['durable']);
    expect(chooseStores(undefined, 'full', undefined)).toEqual(['durable', 'memory']);
    expect(chooseStores(undefined, 'full', 'mongodb://localhost:27017/?replicaSet=rs0')).toEqual(['durable', 'memory', 'mongodb']);
    expect(chooseStores('memory', 'full', undefined)).toEqual(['memory']);
    expect(() => chooseStores('mongodb', 'full', undefined)).toThrow(/MONGODB_URI/);
    expect(() => chooseStores('disk', 'full', undefined)).toThrow(/unknown store "disk"/);
  });
});
