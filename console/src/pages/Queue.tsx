// The review queue, live: WatchReviewCases sends the cases matching the filter, then every change, so new cases
// appear and claimed ones move without a reload.
import { useRef, useState } from 'react';
import { EscalationSignalSchema } from '../../../gen/pulse/common/v1/conversation_pb.js';
import { ReviewState, ReviewStateSchema, Severity, SeveritySchema } from '../../../gen/pulse/common/v1/review_pb.js';
import type { ReviewCase, WatchReviewCasesResponse } from '../../../gen/pulse/review/v1/review_service_pb.js';
import { useNow } from '../components/useNow';
import { useStream } from '../components/useStream';
import { countdown, dateOf, enumLabel } from '../format';
import { Link } from '../router';
import { useSession } from '../session';

type View = 'open' | 'mine' | 'all';

const VIEWS: { view: View; label: string }[] = [
  { view: 'open', label: 'Open' },
  { view: 'mine', label: 'Claimed by me' },
  { view: 'all', label: 'All' },
];

export function Queue() {
  const { clients, userId } = useSession();
  const [view, setView] = useState<View>('open');
  const [severity, setSeverity] = useState<Severity>(Severity.UNSPECIFIED);
  const [cases, setCases] = useState<Map<string, ReviewCase>>(new Map());
  const [loaded, setLoaded] = useState(false);
  const now = useNow();

  const filter = view === 'open' ? { state: ReviewState.OPEN } : view === 'mine' ? { state: ReviewState.CLAIMED, assignee: userId } : {};
  // Cases of a snapshot being received: shown once it is complete.
  const staging = useRef<Map<string, ReviewCase> | undefined>(undefined);
  const state = useStream<WatchReviewCasesResponse>(
    (signal) => clients.review.watchReviewCases(filter, { signal }),
    (message) => {
      if (message.snapshotComplete) {
        // The snapshot replaces what was shown (a reconnect may have missed removals).
        const snapshot = staging.current ?? new Map<string, ReviewCase>();
        staging.current = undefined;
        setCases(snapshot);
        setLoaded(true);
        return;
      }
      const review = message.review!;
      if (staging.current) {
        staging.current.set(review.reviewId, review);
        return;
      }
      setCases((current) => {
        const next = new Map(current);
        if (message.matches) next.set(review.reviewId, review);
        else next.delete(review.reviewId);
        return next;
      });
    },
    () => {
      staging.current = new Map();
    },
    [view, userId],
  );

  const shown = [...cases.values()]
    .filter((c) => severity === Severity.UNSPECIFIED || c.severity === severity)
    .sort((a, b) => b.severity - a.severity || (dateOf(a.slaDueAt)?.getTime() ?? 0) - (dateOf(b.slaDueAt)?.getTime() ?? 0));

  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">Review queue</h1>
      <div className="toolbar">
        <div role="group" aria-label="Which cases">
          {VIEWS.map(({ view: v, label }) => (
            <button key={v} type="button" aria-pressed={view === v} onClick={() => setView(v)}>
              {label}
            </button>
          ))}
        </div>
        <label>
          Severity{' '}
          <select value={severity} onChange={(e) => setSeverity(Number(e.target.value) as Severity)}>
            <option value={Severity.UNSPECIFIED}>any</option>
            {SeveritySchema.values
              .filter((v) => v.number !== 0)
              .map((v) => (
                <option key={v.number} value={v.number}>
                  {enumLabel(SeveritySchema, v.number)}
                </option>
              ))}
          </select>
        </label>
        <span className={`live ${state}`} role="status">
          {state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
      </div>
      {!loaded ? (
        <p>Loading cases…</p>
      ) : shown.length === 0 ? (
        <p>No cases here.</p>
      ) : (
        <table className="cases">
          <caption className="visually-hidden">Review cases, most severe first</caption>
          <thead>
            <tr>
              <th scope="col">Case</th>
              <th scope="col">Severity</th>
              <th scope="col">State</th>
              <th scope="col">SLA due</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((c) => {
              const due = dateOf(c.slaDueAt);
              const waiting = c.state === ReviewState.OPEN || c.state === ReviewState.ESCALATED;
              return (
                <tr key={c.reviewId} data-review-id={c.reviewId}>
                  <td>
                    <Link to={`/reviews/${encodeURIComponent(c.reviewId)}`}>{c.conversationId}</Link>
                    <div className="sub">{c.reviewId}</div>
                  </td>
                  <td>
                    <span className={`severity s${c.severity}`}>{enumLabel(SeveritySchema, c.severity)}</span>
                  </td>
                  <td>
                    {enumLabel(ReviewStateSchema, c.state)}
                    {c.assignee && c.state === ReviewState.CLAIMED ? ` by ${c.assignee}` : ''}
                  </td>
                  <td>{waiting && due ? <span className={due.getTime() < now ? 'overdue' : ''}>{countdown(due, now)}</span> : '—'}</td>
                  <td>
                    <ul className="chips" aria-label="Signals">
                      {c.reasons?.signals.map((s) => (
                        <li key={s}>{enumLabel(EscalationSignalSchema, s)}</li>
                      ))}
                    </ul>
                    <div className="sub">score {c.reasons?.lowestScore.toFixed(2)}</div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
