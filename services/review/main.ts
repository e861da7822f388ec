import { runMain } from '../platform/main.js';
import { startService } from '../platform/service.js';
import { review } from './service.js';

await runMain(() => startService(review));
