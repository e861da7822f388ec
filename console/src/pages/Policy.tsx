// The review policy: what opens a case and each severity's SLA. Reviewers read it; admins change it.
import { create } from '@bufbuild/protobuf';
import { durationFromMs, durationMs, FieldMaskSchema } from '@bufbuild/protobuf/wkt';
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { type FormEvent, useEffect, useState } from 'react';
import { EscalationSignalSchema } from '../../../gen/pulse/common/v1/conversation_pb.js';
import { SeveritySchema } from '../../../gen/pulse/common/v1/review_pb.js';
import { ReviewService } from '../../../gen/pulse/review/v1/review_service_pb.js';
import { ErrorNote } from '../components/ErrorNote';
import { enumLabel, formatTime } from '../format';

export function Policy({ editable }: { editable: boolean }) {
  const policy = useQuery(ReviewService.method.getReviewPolicy, {});
  const update = useMutation(ReviewService.method.updateReviewPolicy, { onSuccess: () => policy.refetch() });
  const p = policy.data?.policy;
  const [threshold, setThreshold] = useState('');
  const [trendDrop, setTrendDrop] = useState('');
  const [cooldownMinutes, setCooldownMinutes] = useState('');
  useEffect(() => {
    if (!p) return;
    setThreshold(String(p.scoreThreshold));
    setTrendDrop(String(p.trendDrop));
    setCooldownMinutes(String(p.cooldown ? durationMs(p.cooldown) / 60_000 : 0));
  }, [p]);

  if (policy.error) return <ErrorNote error={policy.error} />;
  if (!p) return <p>Loading the policy…</p>;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    update.mutate({
      policy: { scoreThreshold: Number(threshold), trendDrop: Number(trendDrop), cooldown: durationFromMs(Math.round(Number(cooldownMinutes) * 60_000)) },
      updateMask: create(FieldMaskSchema, { paths: ['score_threshold', 'trend_drop', 'cooldown'] }),
    });
  };

  return (
    <section aria-labelledby="policy-title">
      <h1 id="policy-title">Review policy</h1>
      <p>
        Version {String(p.version)}, changed {formatTime(p.updatedAt)}. New cases are announced on topic <strong>{p.topic}</strong>.
      </p>
      <form onSubmit={submit} className="policy">
        <label htmlFor="threshold">A customer message scoring at or below this opens a case (-1 to 1)</label>
        <input id="threshold" type="number" step="0.05" min={-1} max={1} value={threshold} onChange={(e) => setThreshold(e.target.value)} disabled={!editable} />
        <label htmlFor="trend">A drop of the conversation's mood at least this far below its baseline opens a case (0 to 2; 0: off)</label>
        <input id="trend" type="number" step="0.05" min={0} max={2} value={trendDrop} onChange={(e) => setTrendDrop(e.target.value)} disabled={!editable} />
        <label htmlFor="cooldown">Later amiss messages join the open case for this many minutes</label>
        <input id="cooldown" type="number" step="1" min={0} value={cooldownMinutes} onChange={(e) => setCooldownMinutes(e.target.value)} disabled={!editable} />
        {editable && (
          <button type="submit" disabled={update.isPending}>
            Save policy
          </button>
        )}
        <ErrorNote error={update.error} />
      </form>
      <h2>Signals that open a case on their own</h2>
      <ul className="chips">
        {p.caseSignals.map((s) => (
          <li key={s}>{enumLabel(EscalationSignalSchema, s)}</li>
        ))}
      </ul>
      <h2>SLA per severity</h2>
      <ul>
        {p.slas.map((rule) => (
          <li key={rule.severity}>
            {enumLabel(SeveritySchema, rule.severity)}: claimed within {rule.openFor ? Math.round(durationMs(rule.openFor) / 60_000) : 0} minutes
          </li>
        ))}
        <li>Others: 4 hours</li>
      </ul>
    </section>
  );
}
