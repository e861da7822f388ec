// One review case: why it opened, the conversation (each message with its sentiment and the words that raised a
// signal), the mood trend, the actions the reviewer may take now, and the case history.
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { useState } from 'react';
import { Author, AuthorSchema, EscalationSignalSchema, SentimentLabelSchema, type SignalEvidence, TrendSchema } from '../../../gen/pulse/common/v1/conversation_pb.js';
import { ReviewState, ReviewStateSchema, SeveritySchema } from '../../../gen/pulse/common/v1/review_pb.js';
import { IngestionService } from '../../../gen/pulse/ingestion/v1/ingestion_service_pb.js';
import { ReviewService } from '../../../gen/pulse/review/v1/review_service_pb.js';
import { type MessageSentiment, SentimentService } from '../../../gen/pulse/sentiment/v1/sentiment_service_pb.js';
import { ErrorNote } from '../components/ErrorNote';
import { Highlighted } from '../components/Highlighted';
import { LineChart } from '../components/LineChart';
import { useNow } from '../components/useNow';
import { countdown, dateOf, enumLabel, formatTime } from '../format';
import { Link } from '../router';
import { useSession } from '../session';

export function CasePage({ reviewId }: { reviewId: string }) {
  const { userId } = useSession();
  const now = useNow();
  const review = useQuery(ReviewService.method.getReview, { reviewId }, { refetchInterval: 5_000 });
  const c = review.data?.review;
  const conversation = useQuery(SentimentService.method.getConversationSentiment, { conversationId: c?.conversationId ?? '' }, { enabled: !!c });
  const claim = useMutation(ReviewService.method.claimReview, { onSuccess: () => review.refetch() });
  const resolve = useMutation(ReviewService.method.resolveReview, { onSuccess: () => review.refetch() });
  const [note, setNote] = useState('');

  if (review.error) return <ErrorNote error={review.error} />;
  if (!c) return <p>Loading the case…</p>;
  const mine = c.state === ReviewState.CLAIMED && c.assignee === userId;
  const claimable = c.state === ReviewState.OPEN || c.state === ReviewState.ESCALATED;
  const due = dateOf(c.slaDueAt);
  const messages = conversation.data?.conversation?.recentMessages ?? [];
  const customer = messages.filter((m) => m.author === Author.CUSTOMER);
  const mood = conversation.data?.conversation?.mood;

  const act = (outcome: ReviewState) => resolve.mutate({ reviewId, reviewer: userId, outcome, note });

  return (
    <article aria-labelledby="case-title">
      <p>
        <Link to="/reviews">← Back to the queue</Link>
      </p>
      <h1 id="case-title">Conversation {c.conversationId}</h1>
      <dl className="facts">
        <dt>Case</dt>
        <dd>{c.reviewId}</dd>
        <dt>State</dt>
        <dd data-testid="case-state">
          {enumLabel(ReviewStateSchema, c.state)}
          {c.assignee && c.state === ReviewState.CLAIMED ? ` by ${c.assignee}` : ''}
        </dd>
        <dt>Severity</dt>
        <dd>
          <span className={`severity s${c.severity}`}>{enumLabel(SeveritySchema, c.severity)}</span>
        </dd>
        <dt>SLA</dt>
        <dd>{claimable && due ? countdown(due, now) : '—'}</dd>
        <dt>Customer / agent</dt>
        <dd>
          {c.customerId} / {c.agentId || '—'}
        </dd>
        <dt>Why</dt>
        <dd>{c.reasons?.summary}</dd>
      </dl>

      <section aria-labelledby="actions-title" className="actions">
        <h2 id="actions-title">Actions</h2>
        {claimable && (
          <button type="button" onClick={() => claim.mutate({ reviewId, reviewer: userId })} disabled={claim.isPending}>
            Claim this case
          </button>
        )}
        {mine && (
          <>
            <label htmlFor="note">Note (what was done, or why)</label>
            <textarea id="note" value={note} maxLength={2000} onChange={(e) => setNote(e.target.value)} rows={3} />
            <div className="buttons">
              <button type="button" onClick={() => act(ReviewState.RESOLVED)} disabled={resolve.isPending}>
                Resolve
              </button>
              <button type="button" onClick={() => act(ReviewState.DISMISSED)} disabled={resolve.isPending}>
                Dismiss
              </button>
              <button type="button" onClick={() => act(ReviewState.ESCALATED)} disabled={resolve.isPending}>
                Escalate to team leads
              </button>
            </div>
          </>
        )}
        {!claimable && !mine && <p>No action for you on this case now.</p>}
        <ErrorNote error={claim.error ?? resolve.error} />
      </section>

      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Conversation</h2>
        {mood && (
          <p>
            Mood: rolling score {mood.rollingScore.toFixed(2)} against a baseline of {mood.baselineScore.toFixed(2)}, trend{' '}
            {enumLabel(TrendSchema, mood.trend)}.
          </p>
        )}
        {customer.length > 1 && (
          <LineChart
            title="Customer sentiment, message by message (-1 to 1)"
            labels={customer.map((_, i) => String(i + 1))}
            series={[{ name: 'compound score', values: customer.map((m) => m.sentiment?.compound), className: 'series-a' }]}
            min={-1}
            max={1}
          />
        )}
        <ErrorNote error={conversation.error} />
        <ol className="timeline">
          {messages.map((m) => (
            <MessageRow
              key={m.messageId}
              message={m}
              inCase={c.messageIds.includes(m.messageId)}
              caseEvidence={c.reasons?.evidence.filter((e) => e.messageId === m.messageId) ?? []}
            />
          ))}
        </ol>
      </section>

      <section aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        <ol className="history">
          {c.history.map((t, i) => (
            <li key={i}>
              <time>{formatTime(t.at)}</time> {enumLabel(ReviewStateSchema, t.fromState)} → {enumLabel(ReviewStateSchema, t.toState)} by {t.actor}
              {t.note && <q>{t.note}</q>}
            </li>
          ))}
        </ol>
      </section>
    </article>
  );
}

/**
 * One message. The words behind its signals come from the case's evidence (the conversation's sentiment keeps
 * scores only, not text), or from the message's own sentiment where it carries them.
 */
function MessageRow({ message, inCase, caseEvidence }: { message: MessageSentiment; inCase: boolean; caseEvidence: SignalEvidence[] }) {
  const interaction = useQuery(IngestionService.method.getInteraction, { messageId: message.messageId });
  const s = message.sentiment;
  const text = interaction.data?.interaction?.text;
  const evidence = caseEvidence.length > 0 ? caseEvidence : (s?.evidence ?? []);
  return (
    <li className={`message ${message.author === Author.CUSTOMER ? 'customer' : 'agent'}${inCase ? ' in-case' : ''}`}>
      <div className="meta">
        <strong>{enumLabel(AuthorSchema, message.author)}</strong> · <time>{formatTime(message.occurredAt)}</time> ·{' '}
        {s ? `${enumLabel(SentimentLabelSchema, s.label)} ${s.compound.toFixed(2)}` : 'not scored'}
        {inCase && ' · in this case'}
      </div>
      {text !== undefined ? <Highlighted text={text} evidence={evidence} /> : interaction.error ? <ErrorNote error={interaction.error} /> : <p>…</p>}
      {s && s.signals.length > 0 && (
        <ul className="chips" aria-label="Signals">
          {s.signals.map((signal) => (
            <li key={signal}>
              {enumLabel(EscalationSignalSchema, signal)}
              {evidence
                .filter((e) => e.signal === signal && e.text)
                .map((e) => ` “${e.text}”`)
                .join(',')}
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}
