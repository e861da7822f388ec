// The unread count beside "Inbox", kept live: WatchStatus for each inbox the person reads (their own, and the
// shared "reviewers" inbox for reviewers) reports every change to its notifications (an in-app delivery arriving,
// one read elsewhere), and each refreshes the inbox queries.
import { createConnectQueryKey, useQuery } from '@connectrpc/connect-query';
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { StatusService } from '../../../gen/pulse/status/v1/status_service_pb.js';
import { useSession } from '../session';
import { useStream } from './useStream';

export const INBOX_PAGE = 100;

/** The inboxes a person reads: their own, and the reviewers' shared one when they work the review queue. */
export function useInboxes(): string[] {
  const { userId, abilities } = useSession();
  return abilities.reviews && userId !== 'reviewers' ? [userId, 'reviewers'] : [userId];
}

/** One inbox: its live stream, and its unread count reported up. */
function InboxWatch({ inbox, onUnread }: { inbox: string; onUnread: (inbox: string, unread: number) => void }) {
  const { clients } = useSession();
  const queryClient = useQueryClient();
  const list = useQuery(StatusService.method.listInbox, { userId: inbox, pageSize: INBOX_PAGE });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: createConnectQueryKey({ schema: StatusService.method.listInbox, cardinality: undefined }) });
  useStream((signal) => clients.status.watchStatus({ subject: { case: 'userId', value: inbox } }, { signal }), refresh, refresh, [inbox]);
  const unread = list.data?.unreadCount ?? 0;
  useEffect(() => onUnread(inbox, unread), [inbox, unread]);
  return null;
}

export function InboxBadge() {
  const inboxes = useInboxes();
  const [counts, setCounts] = useState<Record<string, number>>({});
  const onUnread = (inbox: string, unread: number) => setCounts((c) => (c[inbox] === unread ? c : { ...c, [inbox]: unread }));
  const unread = inboxes.reduce((n, inbox) => n + (counts[inbox] ?? 0), 0);
  return (
    <>
      {inboxes.map((inbox) => (
        <InboxWatch key={inbox} inbox={inbox} onUnread={onUnread} />
      ))}
      {unread > 0 && (
        <span className="badge" data-testid="unread-badge">
          {unread}
          <span className="visually-hidden"> unread</span>
        </span>
      )}
    </>
  );
}
