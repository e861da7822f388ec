import { runMain } from '../platform/main.js';
import { startService } from '../platform/service.js';
import { preference } from './service.js';

await runMain(() => startService(preference));
