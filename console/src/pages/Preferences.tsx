// My preferences: channels (by default and per notification type), quiet hours in my time zone, opt-outs.
import { create } from '@bufbuild/protobuf';
import { FieldMaskSchema } from '@bufbuild/protobuf/wkt';
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { type FormEvent, useEffect, useState } from 'react';
import { Channel, ChannelSchema } from '../../../gen/pulse/common/v1/delivery_pb.js';
import { type Preferences as Prefs, PreferenceService } from '../../../gen/pulse/preference/v1/preference_service_pb.js';
import { ErrorNote } from '../components/ErrorNote';
import { enumLabel } from '../format';
import { useSession } from '../session';
import { Devices } from './Devices';
import { TopicSubscriptions } from './TopicSubscriptions';

const CHANNELS = [Channel.IN_APP, Channel.EMAIL, Channel.SLACK, Channel.SMS, Channel.PUSH];
const TIME_ZONES: string[] = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : ['UTC'];

interface Form {
  timeZone: string;
  quietStart: string;
  quietEnd: string;
  criticalBreaksThrough: boolean;
  optedOut: boolean;
  optedOutTypes: string;
  defaultChannels: Channel[];
  typeChannels: { type: string; channels: Channel[] }[];
}

function formOf(p: Prefs): Form {
  return {
    timeZone: p.timeZone || 'UTC',
    quietStart: p.quietHours?.start ?? '',
    quietEnd: p.quietHours?.end ?? '',
    criticalBreaksThrough: p.criticalOverridesQuietHours ?? true,
    optedOut: p.optedOut,
    optedOutTypes: p.optedOutTypes.join(', '),
    defaultChannels: p.defaultChannels,
    typeChannels: p.typeChannels.map((t) => ({ type: t.notificationType, channels: t.channels })),
  };
}

function toggle(list: Channel[], channel: Channel, on: boolean): Channel[] {
  return on ? [...list.filter((c) => c !== channel), channel] : list.filter((c) => c !== channel);
}

function ChannelBoxes({ legend, value, onChange }: { legend: string; value: Channel[]; onChange: (v: Channel[]) => void }) {
  return (
    <fieldset className="channels">
      <legend>{legend}</legend>
      {CHANNELS.map((channel) => (
        <label key={channel}>
          <input type="checkbox" checked={value.includes(channel)} onChange={(e) => onChange(toggle(value, channel, e.target.checked))} />{' '}
          {enumLabel(ChannelSchema, channel)}
        </label>
      ))}
    </fieldset>
  );
}

export function Preferences() {
  const { userId } = useSession();
  const stored = useQuery(PreferenceService.method.getPreferences, { userId });
  const update = useMutation(PreferenceService.method.updatePreferences, { onSuccess: () => stored.refetch() });
  const [form, setForm] = useState<Form | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (stored.data?.preferences) setForm(formOf(stored.data.preferences));
  }, [stored.data]);

  if (stored.error) return <ErrorNote error={stored.error} />;
  if (!form) return <p>Loading your preferences…</p>;
  const set = (change: Partial<Form>) => {
    setSaved(false);
    setForm({ ...form, ...change });
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const quiet = form.quietStart || form.quietEnd ? { start: form.quietStart, end: form.quietEnd } : undefined;
    update.mutate(
      {
        preferences: {
          userId,
          timeZone: form.timeZone,
          quietHours: quiet,
          criticalOverridesQuietHours: form.criticalBreaksThrough,
          optedOut: form.optedOut,
          optedOutTypes: form.optedOutTypes.split(',').map((t) => t.trim()).filter(Boolean),
          defaultChannels: form.defaultChannels,
          typeChannels: form.typeChannels.filter((t) => t.type.trim()).map((t) => ({ notificationType: t.type.trim(), channels: t.channels })),
        },
        updateMask: create(FieldMaskSchema, {
          paths: ['time_zone', 'quiet_hours', 'critical_overrides_quiet_hours', 'opted_out', 'opted_out_types', 'default_channels', 'type_channels'],
        }),
        expectedVersion: stored.data?.preferences?.version ?? 0n,
      },
      { onSuccess: () => setSaved(true) },
    );
  };

  return (
    <section aria-labelledby="prefs-title">
      <h1 id="prefs-title">My preferences</h1>
      <form onSubmit={submit} className="prefs">
        <fieldset>
          <legend>Quiet hours</legend>
          <p className="hint">Email, Slack and SMS wait until the end of your quiet hours; the inbox is never quiet.</p>
          <label htmlFor="tz">Time zone</label>
          <input id="tz" list="time-zones" value={form.timeZone} onChange={(e) => set({ timeZone: e.target.value })} />
          <datalist id="time-zones">
            {TIME_ZONES.map((tz) => (
              <option key={tz} value={tz} />
            ))}
          </datalist>
          <label htmlFor="quiet-start">From</label>
          <input id="quiet-start" type="time" value={form.quietStart} onChange={(e) => set({ quietStart: e.target.value })} />
          <label htmlFor="quiet-end">Until</label>
          <input id="quiet-end" type="time" value={form.quietEnd} onChange={(e) => set({ quietEnd: e.target.value })} />
          <label>
            <input type="checkbox" checked={form.criticalBreaksThrough} onChange={(e) => set({ criticalBreaksThrough: e.target.checked })} /> Critical
            notifications break through quiet hours
          </label>
        </fieldset>

        <ChannelBoxes legend="Channels for notification types not listed below" value={form.defaultChannels} onChange={(v) => set({ defaultChannels: v })} />

        <fieldset>
          <legend>Channels per notification type</legend>
          {form.typeChannels.map((t, i) => (
            <div key={i} className="type-row">
              <label htmlFor={`type-${i}`}>Notification type</label>
              <input id={`type-${i}`} value={t.type} onChange={(e) => set({ typeChannels: form.typeChannels.map((x, j) => (j === i ? { ...x, type: e.target.value } : x)) })} />
              <ChannelBoxes
                legend={`Channels for ${t.type || 'this type'}`}
                value={t.channels}
                onChange={(channels) => set({ typeChannels: form.typeChannels.map((x, j) => (j === i ? { ...x, channels } : x)) })}
              />
              <button type="button" onClick={() => set({ typeChannels: form.typeChannels.filter((_, j) => j !== i) })}>
                Remove {t.type || 'this type'}
              </button>
            </div>
          ))}
          <button type="button" onClick={() => set({ typeChannels: [...form.typeChannels, { type: '', channels: [Channel.IN_APP] }] })}>
            Add a notification type
          </button>
        </fieldset>

        <fieldset>
          <legend>Opt-outs</legend>
          <label htmlFor="opted-out-types">Notification types I do not want (comma-separated)</label>
          <input id="opted-out-types" value={form.optedOutTypes} onChange={(e) => set({ optedOutTypes: e.target.value })} />
          <label>
            <input type="checkbox" checked={form.optedOut} onChange={(e) => set({ optedOut: e.target.checked })} /> Opt out of everything (critical ones too)
          </label>
        </fieldset>

        <button type="submit" disabled={update.isPending}>
          Save preferences
        </button>
        {saved && <p role="status">Saved.</p>}
        <ErrorNote error={update.error} />
      </form>
      <TopicSubscriptions />
      <Devices />
    </section>
  );
}
