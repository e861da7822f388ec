// My alert topics: subscribe to a topic's alerts (they then reach me by my own channels, quiet hours and
// opt-outs) or leave it. Membership of a group a topic routes to is the operator's, shown on the routes page.
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { type FormEvent, useEffect, useState } from 'react';
import { PreferenceService } from '../../../gen/pulse/preference/v1/preference_service_pb.js';
import { ErrorNote } from '../components/ErrorNote';
import { useSession } from '../session';

export function TopicSubscriptions() {
  const { userId } = useSession();
  const current = useQuery(PreferenceService.method.listTopicSubscriptions, { userId });
  const update = useMutation(PreferenceService.method.updateTopicSubscriptions, { onSuccess: () => current.refetch() });
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  useEffect(() => setChosen(new Set(current.data?.subscribedTopics ?? [])), [current.data]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const before = new Set(current.data?.subscribedTopics ?? []);
    update.mutate({
      userId,
      subscribe: [...chosen].filter((t) => !before.has(t)),
      unsubscribe: [...before].filter((t) => !chosen.has(t)),
    });
  };
  const toggle = (topic: string, on: boolean) =>
    setChosen((set) => {
      const next = new Set(set);
      if (on) next.add(topic);
      else next.delete(topic);
      return next;
    });

  return (
    <section aria-labelledby="topics-title">
      <h2 id="topics-title">My alert topics</h2>
      <ErrorNote error={current.error} />
      <form onSubmit={submit}>
        <fieldset className="channels">
          <legend>Alerts I want to hear about</legend>
          {(current.data?.availableTopics ?? []).map((topic) => (
            <label key={topic}>
              <input type="checkbox" checked={chosen.has(topic)} onChange={(e) => toggle(topic, e.target.checked)} /> {topic}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={update.isPending}>
          Save alert topics
        </button>
        {update.isSuccess && <p role="status">Alert topics saved.</p>}
        <ErrorNote error={update.error} />
      </form>
    </section>
  );
}
