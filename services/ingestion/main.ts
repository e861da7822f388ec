import { runMain } from '../platform/main.js';
import { startService } from '../platform/service.js';
import { ingestion } from './service.js';

await runMain(() => startService(ingestion));
