import { runMain } from '../platform/main.js';
import { startService } from '../platform/service.js';
import { notification } from './service.js';

await runMain(() => startService(notification));
