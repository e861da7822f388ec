// Delivery statistics per channel: success rate and latency percentiles. GetDeliveryStats answers for a trailing
// window; this page asks for the last 5 minutes every 15 s while it is open and charts those samples over time,
// beside a table for a window you choose.
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { useQuery } from '@connectrpc/connect-query';
import { useEffect, useState } from 'react';
import { Channel, ChannelSchema, DeliveryState } from '../../../gen/pulse/common/v1/delivery_pb.js';
import { type DeliveryStats, StatusService } from '../../../gen/pulse/status/v1/status_service_pb.js';
import { ErrorNote } from '../components/ErrorNote';
import { LineChart, type Series } from '../components/LineChart';
import { enumLabel } from '../format';

const SUCCEEDED = [DeliveryState.SENT, DeliveryState.DELIVERED, DeliveryState.READ];
const FAILED = [DeliveryState.FAILED, DeliveryState.DEAD_LETTERED, DeliveryState.EXPIRED];
const CHANNELS = [Channel.IN_APP, Channel.EMAIL, Channel.SLACK, Channel.SMS];
const SAMPLE_MS = 15_000;
const SAMPLES = 40;

interface ChannelFigures {
  total: number;
  /** Of the deliveries that ended (succeeded or failed), the share that succeeded, in %; undefined if none ended. */
  successRate: number | undefined;
  /** The slowest priority's percentiles, in ms. */
  p50: number;
  p95: number;
  p99: number;
}

/** Per channel, over its priorities. */
export function figuresByChannel(stats: DeliveryStats[]): Map<Channel, ChannelFigures> {
  const out = new Map<Channel, ChannelFigures>();
  for (const channel of CHANNELS) {
    const rows = stats.filter((s) => s.channel === channel);
    const count = (states: DeliveryState[]) => rows.reduce((n, r) => n + r.states.filter((s) => states.includes(s.state)).reduce((m, s) => m + Number(s.count), 0), 0);
    const ok = count(SUCCEEDED);
    const ended = ok + count(FAILED);
    out.set(channel, {
      total: rows.reduce((n, r) => n + Number(r.total), 0),
      successRate: ended > 0 ? (100 * ok) / ended : undefined,
      p50: Math.max(0, ...rows.map((r) => r.latencyP50Ms)),
      p95: Math.max(0, ...rows.map((r) => r.latencyP95Ms)),
      p99: Math.max(0, ...rows.map((r) => r.latencyP99Ms)),
    });
  }
  return out;
}

const WINDOWS = [
  { label: 'last 15 minutes', ms: 15 * 60_000 },
  { label: 'last hour', ms: 3_600_000 },
  { label: 'last 24 hours', ms: 86_400_000 },
];

export function Stats() {
  const [windowMs, setWindowMs] = useState(WINDOWS[1].ms);
  const table = useQuery(StatusService.method.getDeliveryStats, { window: durationFromMs(windowMs) });
  const live = useQuery(StatusService.method.getDeliveryStats, { window: durationFromMs(5 * 60_000) }, { refetchInterval: SAMPLE_MS });
  const [samples, setSamples] = useState<{ at: Date; figures: Map<Channel, ChannelFigures> }[]>([]);
  useEffect(() => {
    if (live.data) setSamples((s) => [...s, { at: new Date(), figures: figuresByChannel(live.data.stats) }].slice(-SAMPLES));
  }, [live.data]);

  const labels = samples.map((s) => s.at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  const perChannel = (pick: (f: ChannelFigures) => number | undefined): Series[] =>
    CHANNELS.map((channel, i) => ({ name: enumLabel(ChannelSchema, channel), values: samples.map((s) => pick(s.figures.get(channel)!)), className: `series-${'abcd'[i]}` }));
  const maxLatency = Math.max(100, ...samples.flatMap((s) => [...s.figures.values()].map((f) => f.p95)));
  const figures = table.data ? figuresByChannel(table.data.stats) : undefined;

  return (
    <section aria-labelledby="stats-title">
      <h1 id="stats-title">Delivery statistics</h1>
      <ErrorNote error={table.error ?? live.error} />
      <h2>Over time (each point: the 5 minutes before it)</h2>
      {samples.length === 0 ? (
        <p>Collecting…</p>
      ) : (
        <div className="charts">
          <LineChart title="Success rate per channel (%)" labels={labels} series={perChannel((f) => f.successRate)} min={0} max={100} unit="%" />
          <LineChart title="p95 delivery latency per channel (ms)" labels={labels} series={perChannel((f) => (f.total ? f.p95 : undefined))} min={0} max={maxLatency} />
        </div>
      )}
      <h2>
        <label htmlFor="stats-window">Totals for the </label>
        <select id="stats-window" value={windowMs} onChange={(e) => setWindowMs(Number(e.target.value))}>
          {WINDOWS.map((w) => (
            <option key={w.ms} value={w.ms}>
              {w.label}
            </option>
          ))}
        </select>
      </h2>
      {figures && (
        <table>
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Deliveries</th>
              <th scope="col">Success rate</th>
              <th scope="col">p50</th>
              <th scope="col">p95</th>
              <th scope="col">p99</th>
            </tr>
          </thead>
          <tbody>
            {[...figures].map(([channel, f]) => (
              <tr key={channel}>
                <th scope="row">{enumLabel(ChannelSchema, channel)}</th>
                <td>{f.total}</td>
                <td>{f.successRate === undefined ? '—' : `${f.successRate.toFixed(1)} %`}</td>
                <td>{f.total ? `${Math.round(f.p50)} ms` : '—'}</td>
                <td>{f.total ? `${Math.round(f.p95)} ms` : '—'}</td>
                <td>{f.total ? `${Math.round(f.p99)} ms` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
