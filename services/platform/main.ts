// Process entry for a service (or the embedded mesh): start, report configuration errors plainly, and shut down
// gracefully on SIGTERM / SIGINT.
import { ConfigError } from './config.js';
import { shutdownTelemetry } from './telemetry.js';

export interface Stoppable {
  stop(): Promise<void>;
}

const HARD_STOP_MS = 30_000;

export async function runMain(start: () => Promise<Stoppable>): Promise<void> {
  process.on('unhandledRejection', (reason) => {
    console.error(JSON.stringify({ level: 'error', msg: 'unhandled rejection', err: String(reason) }));
  });
  let running: Stoppable;
  try {
    running = await start();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    console.error(err);
    process.exit(1);
  }
  const stop = (signal: string) => {
    console.error(JSON.stringify({ level: 'info', msg: `${signal}: shutting down` }));
    setTimeout(() => process.exit(1), HARD_STOP_MS).unref();
    running
      .stop()
      .then(shutdownTelemetry)
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(err);
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
