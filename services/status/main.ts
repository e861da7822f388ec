import { runMain } from '../platform/main.js';
import { startService } from '../platform/service.js';
import { status } from './service.js';

await runMain(() => startService(status));
