// The in-app inbox (the person's own, or a shared one they read): newest first, unread ones marked; read one or
// all. Arrivals show up live (see InboxBadge).
import { createConnectQueryKey, useMutation, useQuery } from '@connectrpc/connect-query';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { PrioritySchema } from '../../../gen/pulse/common/v1/delivery_pb.js';
import { StatusService } from '../../../gen/pulse/status/v1/status_service_pb.js';
import { ErrorNote } from '../components/ErrorNote';
import { INBOX_PAGE, useInboxes } from '../components/InboxBadge';
import { enumLabel, formatTime } from '../format';

export function Inbox() {
  const inboxes = useInboxes();
  const [userId, setUserId] = useState(inboxes[0]);
  const queryClient = useQueryClient();
  const inbox = useQuery(StatusService.method.listInbox, { userId, pageSize: INBOX_PAGE });
  const markRead = useMutation(StatusService.method.markRead, {
    onSuccess: () => queryClient.invalidateQueries({ queryKey: createConnectQueryKey({ schema: StatusService.method.listInbox, cardinality: undefined }) }),
  });
  const items = inbox.data?.items ?? [];
  const unread = items.filter((item) => !item.readAt);
  return (
    <section aria-labelledby="inbox-title">
      <h1 id="inbox-title">Inbox</h1>
      <div className="toolbar">
        {inboxes.length > 1 && (
          <label>
            Inbox{' '}
            <select value={userId} onChange={(e) => setUserId(e.target.value)}>
              {inboxes.map((inbox, i) => (
                <option key={inbox} value={inbox}>
                  {i === 0 ? `mine (${inbox})` : `shared: ${inbox}`}
                </option>
              ))}
            </select>
          </label>
        )}
        <span role="status">{inbox.data ? `${inbox.data.unreadCount} unread` : 'Loading…'}</span>
        <button type="button" disabled={unread.length === 0 || markRead.isPending} onClick={() => markRead.mutate({ userId, notificationIds: unread.map((i) => i.notificationId) })}>
          Mark all read
        </button>
      </div>
      <ErrorNote error={inbox.error ?? markRead.error} />
      {inbox.data && items.length === 0 && <p>Nothing here yet.</p>}
      <ul className="inbox">
        {items.map((item) => (
          <li key={item.deliveryId} className={item.readAt ? 'read' : 'unread'} data-notification-id={item.notificationId}>
            <div className="meta">
              {!item.readAt && <span className="dot">Unread · </span>}
              {enumLabel(PrioritySchema, item.priority)} · {item.notificationType} · <time>{formatTime(item.deliveredAt)}</time>
            </div>
            <h2 className="title">{item.title}</h2>
            <p className="body">{item.body}</p>
            {!item.readAt && (
              <button type="button" onClick={() => markRead.mutate({ userId, notificationIds: [item.notificationId] })} disabled={markRead.isPending}>
                Mark read<span className="visually-hidden">: {item.title}</span>
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
