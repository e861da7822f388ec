import { runMain } from '../platform/main.js';
import { startService } from '../platform/service.js';
import { sentiment } from './service.js';

await runMain(() => startService(sentiment));
