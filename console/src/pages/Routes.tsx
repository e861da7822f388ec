// Topic routes and groups: where notifications for a topic go, primary or escalation. A route names an address on
// a channel (a Slack channel, a shared mailbox), or a person or a group, who are then reached through their own
// preferences (channels, quiet hours, opt-outs).
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { type FormEvent, useState } from 'react';
import { Channel, ChannelSchema } from '../../../gen/pulse/common/v1/delivery_pb.js';
import {
  PreferenceService,
  RouteKind,
  RouteKindSchema,
  RouteTargetKind,
  type TopicRoute,
} from '../../../gen/pulse/preference/v1/preference_service_pb.js';
import { ErrorNote } from '../components/ErrorNote';
import { enumLabel } from '../format';

/** "email → ops@example.com", "person ana", "group reviewers". */
function routeTarget(route: TopicRoute): string {
  if (route.targetKind === RouteTargetKind.USER) return `person ${route.target}`;
  if (route.targetKind === RouteTargetKind.GROUP) return `group ${route.target}`;
  return `${enumLabel(ChannelSchema, route.channel)} → ${route.target}`;
}

export function Routes() {
  const routes = useQuery(PreferenceService.method.listTopicRoutes, {});
  const upsert = useMutation(PreferenceService.method.upsertTopicRoute, { onSuccess: () => routes.refetch() });
  const remove = useMutation(PreferenceService.method.deleteTopicRoute, { onSuccess: () => routes.refetch() });
  const [topic, setTopic] = useState('');
  const [targetKind, setTargetKind] = useState<RouteTargetKind>(RouteTargetKind.ADDRESS);
  const [channel, setChannel] = useState<Channel>(Channel.IN_APP);
  const [target, setTarget] = useState('');
  const [kind, setKind] = useState<RouteKind>(RouteKind.PRIMARY);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const address = targetKind === RouteTargetKind.ADDRESS;
    upsert.mutate({ route: { topic: topic.trim(), targetKind, channel: address ? channel : Channel.UNSPECIFIED, target: target.trim(), kind } });
  };
  const byTopic = new Map<string, TopicRoute[]>();
  for (const route of routes.data?.routes ?? []) byTopic.set(route.topic, [...(byTopic.get(route.topic) ?? []), route]);

  return (
    <section aria-labelledby="routes-title">
      <h1 id="routes-title">Topic routes</h1>
      <ErrorNote error={routes.error ?? remove.error} />
      {[...byTopic].map(([name, list]) => (
        <section key={name} aria-label={`Topic ${name}`}>
          <h2>{name}</h2>
          <ul>
            {list.map((r) => (
              <li key={`${r.targetKind}-${r.channel}-${r.target}-${r.kind}`}>
                {enumLabel(RouteKindSchema, r.kind)}: {routeTarget(r)}{' '}
                <button type="button" onClick={() => remove.mutate({ route: r })} disabled={remove.isPending}>
                  Delete<span className="visually-hidden"> route of {name} to {r.target}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      <h2>Add or change a route</h2>
      <form onSubmit={submit} className="route-form">
        <label htmlFor="route-topic">Topic</label>
        <input id="route-topic" value={topic} onChange={(e) => setTopic(e.target.value)} required />
        <label htmlFor="route-target-kind">Who</label>
        <select id="route-target-kind" value={targetKind} onChange={(e) => setTargetKind(Number(e.target.value) as RouteTargetKind)}>
          <option value={RouteTargetKind.ADDRESS}>an address on a channel</option>
          <option value={RouteTargetKind.USER}>a person (their own preferences apply)</option>
          <option value={RouteTargetKind.GROUP}>a group (each member's preferences apply)</option>
        </select>
        {targetKind === RouteTargetKind.ADDRESS && (
          <>
            <label htmlFor="route-channel">Channel</label>
            <select id="route-channel" value={channel} onChange={(e) => setChannel(Number(e.target.value) as Channel)}>
              {ChannelSchema.values
                .filter((v) => v.number !== 0)
                .map((v) => (
                  <option key={v.number} value={v.number}>
                    {enumLabel(ChannelSchema, v.number)}
                  </option>
                ))}
            </select>
          </>
        )}
        <label htmlFor="route-target">
          {targetKind === RouteTargetKind.USER
            ? 'Person (their user id)'
            : targetKind === RouteTargetKind.GROUP
              ? 'Group (its name)'
              : 'Address (a Slack channel, an email address, a phone number or an inbox)'}
        </label>
        <input id="route-target" value={target} onChange={(e) => setTarget(e.target.value)} required />
        <label htmlFor="route-kind">Kind</label>
        <select id="route-kind" value={kind} onChange={(e) => setKind(Number(e.target.value) as RouteKind)}>
          <option value={RouteKind.PRIMARY}>primary</option>
          <option value={RouteKind.ESCALATION}>escalation</option>
        </select>
        <button type="submit" disabled={upsert.isPending}>
          Save route
        </button>
        <ErrorNote error={upsert.error} />
      </form>
      <Groups />
    </section>
  );
}

/** Named sets of users a route can name. */
function Groups() {
  const groups = useQuery(PreferenceService.method.listGroups, {});
  const upsert = useMutation(PreferenceService.method.upsertGroup, { onSuccess: () => groups.refetch() });
  const remove = useMutation(PreferenceService.method.deleteGroup, { onSuccess: () => groups.refetch() });
  const [name, setName] = useState('');
  const [members, setMembers] = useState('');

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const userIds = members
      .split(/[\s,]+/)
      .map((id) => id.trim())
      .filter((id) => id !== '');
    upsert.mutate({ group: { name: name.trim(), userIds } });
  };

  return (
    <section aria-labelledby="groups-title">
      <h2 id="groups-title">Groups</h2>
      <ErrorNote error={groups.error ?? remove.error} />
      <ul>
        {(groups.data?.groups ?? []).map((g) => (
          <li key={g.name}>
            <strong>{g.name}</strong>: {g.userIds.length > 0 ? g.userIds.join(', ') : 'no members'}{' '}
            <button type="button" onClick={() => remove.mutate({ name: g.name })} disabled={remove.isPending}>
              Delete<span className="visually-hidden"> group {g.name}</span>
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={submit} className="route-form">
        <label htmlFor="group-name">Group name</label>
        <input id="group-name" value={name} onChange={(e) => setName(e.target.value)} required />
        <label htmlFor="group-members">Members (user ids, separated by commas or spaces; replaces the list)</label>
        <input id="group-members" value={members} onChange={(e) => setMembers(e.target.value)} />
        <button type="submit" disabled={upsert.isPending}>
          Save group
        </button>
        <ErrorNote error={upsert.error} />
      </form>
    </section>
  );
}
