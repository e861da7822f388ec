// What every scenario gets: the profile (counts and durations), where to write, and how to run the services.
import type { Runtime } from './mesh.js';
import type { StoreKind } from './stores.js';

export type ProfileName = 'smoke' | 'full' | 'cpu';

export interface Profile {
  name: ProfileName;
  /** Longest wait for other processes to quieten before a measurement (they are reported as `other` anyway). */
  quietMaxWaitMs?: number;
  /** Warm-up before each measured RPC server; pause before the idle memory reading. */
  warmupMs?: number;
  broker: { durationMs: number; settings: { confirmWindow: number; prefetch: number; queueVersion?: number }[] };
  monitoring: {
    maxDurationMs: number;
    /** Closed-loop bound on unfinished interactions while looking for the maximum. */
    window: number;
    batch: number;
    /** Concurrency bound for the single-call maximum. */
    singleWindow: number;
    latencyDurationMs: number;
    loads: number[];
    modes: ('batched' | 'single')[];
    drainMs: number;
  };
  dispatch: {
    users: number;
    maxDurationMs: number;
    window: number;
    batch: number;
    latencyDurationMs: number;
    drainMs: number;
  };
  /** rates: fractions of the full stack's maximum, offered open loop to each server. */
  rpc: { durationMs: number; rates: number[]; maxConcurrency: number };
  /** variants: also start the mesh compiled and with plain `node --import tsx`, for their ready time and memory. */
  embedded: { loadDurationMs: number; soakMs: number; sampleEveryMs: number; variants?: boolean };
  sentiment: { minMs: number };
}

export const PROFILES: Record<ProfileName, Profile> = {
  smoke: {
    name: 'smoke',
    quietMaxWaitMs: 1_000,
    warmupMs: 500,
    broker: { durationMs: 2_000, settings: [{ confirmWindow: 256, prefetch: 256 }] },
    monitoring: {
      maxDurationMs: 4_000,
      window: 1_000,
      batch: 50,
      singleWindow: 128,
      latencyDurationMs: 3_000,
      loads: [0.5],
      modes: ['batched'],
      drainMs: 30_000,
    },
    dispatch: { users: 50, maxDurationMs: 4_000, window: 1_000, batch: 50, latencyDurationMs: 3_000, drainMs: 30_000 },
    rpc: { durationMs: 1_500, rates: [0.5], maxConcurrency: 64 },
    embedded: { loadDurationMs: 3_000, soakMs: 10_000, sampleEveryMs: 500, variants: false },
    sentiment: { minMs: 300 },
  },
  // For `--cpu-prof`: only the saturating phases, long enough that start-up is a small share of each profile.
  cpu: {
    name: 'cpu',
    broker: { durationMs: 8_000, settings: [{ confirmWindow: 256, prefetch: 256 }, { confirmWindow: 256, prefetch: 256, queueVersion: 2 }, { confirmWindow: 32, prefetch: 32 }, { confirmWindow: 32, prefetch: 32, queueVersion: 2 }] },
    monitoring: {
      maxDurationMs: 45_000,
      window: 3_000,
      batch: 50,
      singleWindow: 256,
      latencyDurationMs: 0,
      loads: [],
      modes: ['batched'],
      drainMs: 60_000,
    },
    dispatch: { users: 1_000, maxDurationMs: 45_000, window: 4_000, batch: 100, latencyDurationMs: 0, drainMs: 60_000 },
    rpc: { durationMs: 15_000, rates: [], maxConcurrency: 128 },
    embedded: { loadDurationMs: 30_000, soakMs: 30_000, sampleEveryMs: 1_000, variants: true },
    sentiment: { minMs: 3_000 },
  },
  full: {
    name: 'full',
    broker: {
      durationMs: 15_000,
      settings: [
        { confirmWindow: 64, prefetch: 64 },
        { confirmWindow: 256, prefetch: 256 },
        { confirmWindow: 1_024, prefetch: 512 },
        { confirmWindow: 256, prefetch: 256, queueVersion: 2 },
      ],
    },
    monitoring: {
      maxDurationMs: 40_000,
      window: 3_000,
      batch: 50,
      singleWindow: 256,
      latencyDurationMs: 60_000,
      loads: [0.5, 0.8],
      modes: ['batched', 'single'],
      drainMs: 120_000,
    },
    dispatch: { users: 1_000, maxDurationMs: 40_000, window: 4_000, batch: 100, latencyDurationMs: 60_000, drainMs: 120_000 },
    rpc: { durationMs: 15_000, rates: [0.25, 0.5, 0.75], maxConcurrency: 64 },
    // 20 minutes: `npm start` keeps settled notifications 5, so memory can level off only after 6; the rest must
    // span enough garbage-collection cycles (about 2 minutes each at this load) for a line through it to mean flat.
    embedded: { loadDurationMs: 30_000, soakMs: 1_200_000, sampleEveryMs: 2_000, variants: true },
    sentiment: { minMs: 3_000 },
  },
};

export interface Context {
  profile: Profile;
  runtime: Runtime;
  /** Write service logs and profiles under here. */
  outDir: string;
  /** Run the services under --cpu-prof. */
  cpuProf: boolean;
  /** The stores the mesh scenarios run on, in order; the first is the headline. */
  stores: StoreKind[];
  /** MongoDB for the `mongodb` store (MONGODB_URI). */
  mongodbUri?: string;
}
