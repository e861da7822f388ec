// Loaded with `--import` before the service's own modules: `tsx --import ./services/platform/telemetry-register.ts`.
import { startTelemetry } from './telemetry.js';

startTelemetry(process.env.OTEL_SERVICE_NAME ?? 'pulse');
