// Where the benchmarks run from. The services themselves are started by ProcessMesh
// (services/all-in-one/process-mesh.ts) with its logDir, runtime and cpuProfDir options.
import { fileURLToPath } from 'node:url';

export type { Runtime } from '../../services/all-in-one/process-mesh.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
