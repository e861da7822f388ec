// Find a notification by id or idempotency key, then its deliveries and each one's status timeline.
import { useQuery } from '@connectrpc/connect-query';
import { type FormEvent, useState } from 'react';
import { ChannelSchema, DeliveryStateSchema } from '../../../gen/pulse/common/v1/delivery_pb.js';
import { NotificationService } from '../../../gen/pulse/notification/v1/notification_service_pb.js';
import { StatusService } from '../../../gen/pulse/status/v1/status_service_pb.js';
import { ErrorNote } from '../components/ErrorNote';
import { enumLabel, formatTime } from '../format';

export function NotificationLookup() {
  const [kind, setKind] = useState<'notificationId' | 'idempotencyKey'>('notificationId');
  const [value, setValue] = useState('');
  const [asked, setAsked] = useState<{ case: 'notificationId' | 'idempotencyKey'; value: string } | null>(null);
  const found = useQuery(NotificationService.method.getNotification, { lookup: asked ?? { case: undefined } }, { enabled: !!asked });
  const n = found.data?.notification;
  const status = useQuery(StatusService.method.getStatus, { notificationId: n?.notificationId ?? '' }, { enabled: !!n, refetchInterval: 5_000 });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (value.trim()) setAsked({ case: kind, value: value.trim() });
  };

  return (
    <section aria-labelledby="lookup-title">
      <h1 id="lookup-title">Find a notification</h1>
      <form onSubmit={submit} className="toolbar">
        <label>
          By{' '}
          <select value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
            <option value="notificationId">notification id</option>
            <option value="idempotencyKey">idempotency key</option>
          </select>
        </label>
        <label>
          Value <input value={value} onChange={(e) => setValue(e.target.value)} required />
        </label>
        <button type="submit">Find</button>
      </form>
      <ErrorNote error={found.error ?? status.error} />
      {n && (
        <article>
          <h2>{n.content?.title || n.notificationType}</h2>
          <p>
            {n.notificationId} · type {n.notificationType} · {enumLabel(DeliveryStateSchema, n.state)} · sent by {n.source} at {formatTime(n.createdAt)}
          </p>
          {n.content?.body && <p className="body">{n.content.body}</p>}
          {status.data?.status?.deliveries.map((d) => (
            <section key={d.deliveryId} aria-label={`Delivery ${d.deliveryId}`}>
              <h3>
                {enumLabel(ChannelSchema, d.channel)} to {d.userId || 'an address'}: {enumLabel(DeliveryStateSchema, d.state)}
              </h3>
              <ol className="history">
                {d.history.map((h, i) => (
                  <li key={i}>
                    <time>{formatTime(h.at)}</time> {enumLabel(DeliveryStateSchema, h.state)}
                    {h.attempt ? ` (attempt ${h.attempt})` : ''}
                    {h.provider ? ` via ${h.provider}` : ''}
                    {h.reason ? `: ${h.reason}` : ''}
                  </li>
                ))}
              </ol>
            </section>
          ))}
        </article>
      )}
    </section>
  );
}
