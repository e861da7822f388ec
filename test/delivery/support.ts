// The delivery engine with real parts: the whole embedded mesh (startMesh, free ports), its notification service
// configured with the real providers (nodemailer, @slack/web-api, twilio) pointed at a loopback SMTP server and at
// the Slack and Twilio stand-ins, which check every request against the providers' OpenAPI descriptions. Between
// Pulse and each HTTP stand-in sits a tap: a small forwarding proxy that records every exchange with its answer
// and timing (so a test can count what was really posted), and can take the provider down for a while.
import { execFile, spawn } from 'node:child_process';
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { promisify } from 'node:util';
import { type Mesh, startMesh } from '../../services/all-in-one/mesh.js';
import { type MeshClients, meshClients } from '../support/clients.js';
import { until } from '../support/poll.js';
import { type SlackStandIn, startSlackStandIn } from '../support/slack-standin.js';
import { type SmtpStandIn, startSmtpServer } from '../support/smtp-server.js';
import { startTap, type Tap, type TapExchange } from '../support/tap.js';
import { startTwilioStandIn, type TwilioStandIn } from '../support/twilio-standin.js';

export const SLACK_TOKEN = 'xoxb-1111-2222-pulsedeliverytest';
export const TWILIO_ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const TWILIO_FROM = '+15005550006';
export const MESSAGE_ID_DOMAIN = 'pulse.test';

export interface Rig {
  mesh: Mesh;
  api: MeshClients;
  smtp: SmtpStandIn;
  slack: SlackStandIn;
  twilio: TwilioStandIn;
  slackTap: Tap;
  twilioTap: Tap;
  /** Every spec violation the stand-ins saw; tests assert it stays empty. */
  violations(): string[];
  stop(): Promise<void>;
}

/**
 * Starts the stand-ins and the mesh with the real providers pointed at them. The environment is built here, not
 * inherited, so provider settings in the developer's shell cannot leak in; `env` adds to it or overrides it.
 */
export async function startRig(env: Record<string, string> = {}): Promise<Rig> {
  const smtp = await startSmtpServer();
  const slack = await startSlackStandIn();
  const twilio = await startTwilioStandIn();
  const slackTap = await startTap(slack.origin);
  const twilioTap = await startTap(twilio.apiUrl);
  const mesh = await startMesh({
    ports: 'free',
    env: {
      LOG_LEVEL: process.env.PULSE_TEST_LOG_LEVEL ?? 'error',
      SMTP_HOST: smtp.host,
      SMTP_PORT: String(smtp.port),
      SMTP_SECURE: 'false',
      EMAIL_FROM: 'Pulse <pulse@example.com>',
      EMAIL_MESSAGE_ID_DOMAIN: MESSAGE_ID_DOMAIN,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: `${slackTap.origin}/api`,
      TWILIO_ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: 'pulse-delivery-test-token',
      TWILIO_FROM,
      TWILIO_API_URL: twilioTap.origin,
      // Waiting deliveries are looked at often, so the tests need not wait long for the scheduler.
      NOTIFICATION_SCHEDULER_INTERVAL_MS: '50',
      STATUS_WATCH_POLL_MS: '200',
      PULSE_SHUTDOWN_GRACE_MS: '500',
      // Six services, the stand-ins and the test share one event loop here, on a CI machine running other test
      // files at the same time: the loop-delay bound of load shedding would refuse requests for reasons that are
      // not the delivery engine's. Its own tests cover it.
      PULSE_MAX_EVENT_LOOP_DELAY_MS: '0',
      ...env,
    },
  });
  const api = meshClients(mesh.urls, mesh.token);
  return {
    mesh,
    api,
    smtp,
    slack,
    twilio,
    slackTap,
    twilioTap,
    violations: () => [...slack.violations(), ...twilio.violations()],
    async stop() {
      await mesh.stop();
      await Promise.all([slackTap.close(), twilioTap.close()]);
      await Promise.all([slack.close(), twilio.close(), smtp.close()]);
    },
  };
}

/** Emails the SMTP server accepted for one notification (Pulse puts its id in a header). */
export function mailsOf(smtp: SmtpStandIn, notificationId: string) {
  return smtp.received.filter((m) => m.parsed.headers.get('x-pulse-notification-id') === notificationId);
}

/** chat.postMessage calls whose text carries this title (titles are unique per test notification). */
export function slackPostsOf(tap: Tap, title: string): TapExchange[] {
  return tap.exchanges.filter((e) => e.url === '/api/chat.postMessage' && slackText(e).includes(`*${title}*`));
}

/** The `text` of a chat.postMessage request, whichever encoding the SDK used. */
export function slackText(exchange: TapExchange): string {
  const trimmed = exchange.body.trim();
  if (trimmed.startsWith('{')) return String((JSON.parse(trimmed) as { text?: unknown }).text ?? '');
  return new URLSearchParams(exchange.body).get('text') ?? '';
}

/** Twilio Messages.json calls whose Body starts with this title. */
export function smsOf(tap: Tap, title: string): TapExchange[] {
  return tap.exchanges.filter((e) => e.url.endsWith('/Messages.json') && (new URLSearchParams(e.body).get('Body') ?? '').startsWith(title));
}

/** A Slack post that Slack accepted (HTTP 200 and ok: true). */
export function posted(exchange: TapExchange): boolean {
  if (exchange.status !== 200) return false;
  try {
    return (JSON.parse(exchange.responseBody) as { ok?: boolean }).ok === true;
  } catch {
    return false;
  }
}

/** Connect streaming over HTTP/1.1 without a Connect library: the request and response envelopes by hand. */
export function envelope(json: unknown, flags = 0): Buffer {
  const data = Buffer.from(JSON.stringify(json), 'utf8');
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(data.length, 1);
  return Buffer.concat([head, data]);
}

export interface ConnectFrame {
  flags: number;
  json: Record<string, unknown>;
  /** When the frame was complete (Date.now()). */
  at: number;
}

/** Splits a Connect streaming body into its envelopes: 1 flag byte, 4-byte big-endian length, then the data. */
export class FrameReader {
  readonly frames: ConnectFrame[] = [];
  private buffer = Buffer.alloc(0);

  push(chunk: Buffer): ConnectFrame[] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const complete: ConnectFrame[] = [];
    while (this.buffer.length >= 5) {
      const length = this.buffer.readUInt32BE(1);
      if (this.buffer.length < 5 + length) break;
      const flags = this.buffer.readUInt8(0);
      const json = JSON.parse(this.buffer.subarray(5, 5 + length).toString('utf8')) as Record<string, unknown>;
      this.buffer = this.buffer.subarray(5 + length);
      complete.push({ flags, json, at: Date.now() });
    }
    this.frames.push(...complete);
    return complete;
  }

  /** Bytes left over that do not make a whole envelope (0 after a well-formed stream). */
  get leftover(): number {
    return this.buffer.length;
  }
}

/** Connect end-of-stream flag. */
export const END_STREAM = 0x02;

export interface RawStreamResult {
  status: number;
  headers: IncomingHttpHeaders;
  frames: ConnectFrame[];
  leftover: number;
}

/**
 * POSTs one enveloped JSON request to a server-streaming method over plain HTTP/1.1, with the headers curl sends,
 * and reads envelopes until the end-of-stream frame (or the response ends). `onFrame` sees each frame as it comes.
 */
export function rawConnectStream(
  baseUrl: string,
  path: string,
  token: string,
  message: unknown,
  onFrame: (frame: ConnectFrame) => void = () => {},
  timeoutMs = 20_000,
): Promise<RawStreamResult> {
  const url = new URL(path, baseUrl);
  const body = envelope(message);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: url.pathname,
        headers: {
          'User-Agent': 'curl/8.5.0',
          Accept: '*/*',
          'Content-Type': 'application/connect+json',
          Authorization: `Bearer ${token}`,
          'Content-Length': String(body.length),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const reader = new FrameReader();
        res.on('data', (chunk: Buffer) => {
          try {
            for (const frame of reader.push(chunk)) onFrame(frame);
          } catch (err) {
            req.destroy(err as Error);
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, frames: reader.frames, leftover: reader.leftover }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no end of stream within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

const run = promisify(execFile);

/** Holds every request at the tap until the returned function is called (at the latest after maxMs). */
export function hold(tap: Tap, maxMs = 15_000): () => void {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, maxMs);
    release = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  tap.gate = gate;
  return () => {
    if (tap.gate === gate) tap.gate = undefined;
    release();
  };
}

/** Whether a program is on the PATH. */
export async function hasProgram(name: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${name}`]).then(
    () => true,
    () => false,
  );
}

/** Runs a bash script with the given environment, handing each chunk of its stdout to onData; resolves on exit 0. */
export function bash(script: string, env: Record<string, string>, onData: (chunk: Buffer) => void, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => child.kill(), timeoutMs);
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`bash exited with ${code}: ${Buffer.concat(stderr).toString('utf8').slice(0, 500)}`));
    });
  });
}

/** The value of one Prometheus sample (exact label match on the given labels), or undefined when absent. */
export async function sample(baseUrl: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.startsWith(`${name}{`) ? line.slice(name.length + 1, line.indexOf('}')) : '';
    if (Object.entries(labels).every(([k, v]) => labelText.split(',').includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

export async function metricsText(baseUrl: string): Promise<string> {
  return (await fetch(`${baseUrl}/metrics`)).text();
}

/** A notification's deliveries, once fn says they are where the test wants them. */
export async function notificationWhen<T>(
  api: MeshClients,
  notificationId: string,
  what: string,
  ready: (n: NonNullable<Awaited<ReturnType<MeshClients['notification']['getNotification']>>['notification']>) => T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  return until(what, async () => {
    const { notification } = await api.notification.getNotification({ lookup: { case: 'notificationId', value: notificationId } });
    return notification ? ready(notification) : undefined;
  }, timeoutMs);
}

let counter = 0;
/** A name unique within the test run (idempotency keys, users, titles). */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
