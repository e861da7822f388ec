// Dead letters: deliveries that used up their attempts, filtered by channel and reason; replay the chosen ones or
// every one matching the filter.
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { useState } from 'react';
import { Channel, ChannelSchema, PrioritySchema } from '../../../gen/pulse/common/v1/delivery_pb.js';
import { NotificationService } from '../../../gen/pulse/notification/v1/notification_service_pb.js';
import { ErrorNote } from '../components/ErrorNote';
import { enumLabel, formatTime } from '../format';

export function DeadLetters() {
  const [channel, setChannel] = useState<Channel>(Channel.UNSPECIFIED);
  const [reason, setReason] = useState('');
  const [includeReplayed, setIncludeReplayed] = useState(false);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [result, setResult] = useState('');
  const filter = { channel, reason: reason.trim() };
  const list = useQuery(NotificationService.method.listDeadLetters, { filter, includeReplayed, pageSize: 100 });
  const replay = useMutation(NotificationService.method.replayDeadLetters, {
    onSuccess: (res) => {
      setResult(`${res.replayedCount} dead ${res.replayedCount === 1 ? 'letter' : 'letters'} scheduled to be sent again.`);
      setChosen(new Set());
      void list.refetch();
    },
  });
  const letters = list.data?.deadLetters ?? [];

  return (
    <section aria-labelledby="dlq-title">
      <h1 id="dlq-title">Dead letters</h1>
      <form className="toolbar" onSubmit={(e) => e.preventDefault()}>
        <label>
          Channel{' '}
          <select value={channel} onChange={(e) => setChannel(Number(e.target.value) as Channel)}>
            <option value={Channel.UNSPECIFIED}>any</option>
            {ChannelSchema.values
              .filter((v) => v.number !== 0)
              .map((v) => (
                <option key={v.number} value={v.number}>
                  {enumLabel(ChannelSchema, v.number)}
                </option>
              ))}
          </select>
        </label>
        <label>
          Reason contains <input value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
        <label>
          <input type="checkbox" checked={includeReplayed} onChange={(e) => setIncludeReplayed(e.target.checked)} /> Include replayed
        </label>
      </form>
      <div className="toolbar">
        <button type="button" disabled={chosen.size === 0 || replay.isPending} onClick={() => replay.mutate({ filter: { deadLetterIds: [...chosen] } })}>
          Replay chosen ({chosen.size})
        </button>
        <button type="button" disabled={letters.length === 0 || replay.isPending} onClick={() => replay.mutate({ filter })}>
          Replay all matching
        </button>
        {result && <span role="status">{result}</span>}
      </div>
      <ErrorNote error={list.error ?? replay.error} />
      {list.data && letters.length === 0 && <p>No dead letters match.</p>}
      {letters.length > 0 && (
        <table>
          <caption className="visually-hidden">Dead letters, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Choose</th>
              <th scope="col">Failed</th>
              <th scope="col">Channel</th>
              <th scope="col">Priority</th>
              <th scope="col">Reason</th>
              <th scope="col">Attempts</th>
              <th scope="col">Notification</th>
              <th scope="col">Replayed</th>
            </tr>
          </thead>
          <tbody>
            {letters.map((d) => (
              <tr key={d.deadLetterId} data-dead-letter-id={d.deadLetterId}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Choose ${d.deadLetterId}`}
                    checked={chosen.has(d.deadLetterId)}
                    disabled={!!d.replayedAt}
                    onChange={(e) => {
                      const next = new Set(chosen);
                      if (e.target.checked) next.add(d.deadLetterId);
                      else next.delete(d.deadLetterId);
                      setChosen(next);
                    }}
                  />
                </td>
                <td>{formatTime(d.failedAt)}</td>
                <td>{enumLabel(ChannelSchema, d.channel)}</td>
                <td>{enumLabel(PrioritySchema, d.priority)}</td>
                <td>{d.reason}</td>
                <td>{d.attempts}</td>
                <td>{d.notificationId}</td>
                <td>{d.replayedAt ? formatTime(d.replayedAt) : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
