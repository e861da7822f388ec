// Loaded with `--import` before the service's own modules:
//   node --import tsx --import ./services/platform/telemetry-register.ts services/<service>/main.ts
//   node --import ./dist/services/platform/telemetry-register.js dist/services/<service>/main.js
//
// The services are ES modules. require-in-the-middle, which the instrumentations use, only sees `require`, so a
// package imported with `import` (pino, and the entry points of amqplib, mongodb, node:http) would be left
// unpatched without the ESM loader hook that @opentelemetry/instrumentation ships (import-in-the-middle). It is
// registered here, before any service module loads, in the mode that wraps only the modules an instrumentation
// asked for: the SDK's instrumentations announce their modules through the message channel when they are
// enabled, and the service's imports wait until the loader has acknowledged them.
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { startTelemetry } from './telemetry.js';

if (process.env.OTEL_SDK_DISABLED !== 'true') {
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, registerOptions);
  startTelemetry(process.env.OTEL_SERVICE_NAME ?? 'pulse');
  await waitForAllMessagesAcknowledged();
}
