// Reading the services' own counters on /metrics (Prometheus text), for progress and for broker messages published.
import type { ServiceName } from '../../services/platform/catalog.js';
import { sleep } from './stats.js';

/** The broker's own count of the messages routed during a warm-up, next to the services' publish counters. */
export interface MessageCountCheck {
  routedByBroker: number;
  countedByServices: number;
}

/** The sum of a counter's series whose labels include these, 0 when absent. */
export async function counter(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    const series = line.startsWith(`${name}{`) || line.startsWith(`${name} `);
    if (series && wanted.every((pair) => line.includes(pair))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/**
 * Messages the six services have published to the broker so far: every event leaves through the outbox, which
 * counts each confirmed publish (pulse_events_published_total). The warm-up checks this against the broker's own
 * routing (a tap bound to every routing key), so a change in what the counter counts shows in the report.
 */
export async function publishedMessages(urls: Record<ServiceName, string>): Promise<number> {
  const counts = await Promise.all(Object.values(urls).map((url) => counter(url, 'pulse_events_published_total')));
  return counts.reduce((a, b) => a + b, 0);
}

/** publishedMessages once it has stopped moving (the last events of a phase leave after its items are through). */
export async function settledPublishedMessages(urls: Record<ServiceName, string>, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = await publishedMessages(urls);
  for (;;) {
    await sleep(500);
    const now = await publishedMessages(urls);
    if (now === last || Date.now() > deadline) return now;
    last = now;
  }
}
