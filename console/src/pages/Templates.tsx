// Templates (admin): the message layout per notification type, channel and locale, written in Liquid. Edit one,
// preview it with sample content as a recipient would get it, and save it as a new version. The preview is shown as
// text, the email HTML included: template output is never rendered as markup here.
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { type FormEvent, useState } from 'react';
import { Channel, ChannelSchema } from '../../../gen/pulse/common/v1/delivery_pb.js';
import { NotificationService, type Template } from '../../../gen/pulse/notification/v1/notification_service_pb.js';
import { ErrorNote } from '../components/ErrorNote';
import { enumLabel, formatTime } from '../format';

const CHANNELS = [Channel.EMAIL, Channel.SMS, Channel.SLACK, Channel.PUSH, Channel.IN_APP];

interface Draft {
  notificationType: string;
  channel: Channel;
  locale: string;
  title: string;
  body: string;
  html: string;
  slackBlocks: string;
}

const EMPTY: Draft = { notificationType: '', channel: Channel.EMAIL, locale: '', title: '', body: '', html: '', slackBlocks: '' };

function draftOf(t: Template): Draft {
  return { notificationType: t.notificationType, channel: t.channel, locale: t.locale, title: t.title, body: t.body, html: t.html, slackBlocks: t.slackBlocks };
}

export function Templates() {
  const templates = useQuery(NotificationService.method.listTemplates, {});
  const save = useMutation(NotificationService.method.upsertTemplate, { onSuccess: () => templates.refetch() });
  const preview = useMutation(NotificationService.method.previewTemplate);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [sample, setSample] = useState({ title: 'Invoice 42 is overdue', body: 'Please pay by Friday.' });
  const set = (change: Partial<Draft>) => setDraft((d) => ({ ...d, ...change }));
  const hasTitle = draft.channel !== Channel.SMS && draft.channel !== Channel.SLACK;

  const onSave = (event: FormEvent) => {
    event.preventDefault();
    save.mutate({ template: { ...draft, notificationType: draft.notificationType.trim(), locale: draft.locale.trim() } });
  };
  const onPreview = () => preview.mutate({ template: { ...draft, notificationType: draft.notificationType.trim() }, content: sample });
  const rendered = preview.data?.rendered;

  return (
    <section aria-labelledby="templates-title">
      <h1 id="templates-title">Templates</h1>
      <ErrorNote error={templates.error} />
      <table>
        <caption>Latest version of each template</caption>
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Channel</th>
            <th scope="col">Locale</th>
            <th scope="col">Version</th>
            <th scope="col">Saved</th>
            <th scope="col">
              <span className="visually-hidden">Edit</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(templates.data?.templates ?? []).map((t) => (
            <tr key={`${t.notificationType}-${t.channel}-${t.locale}`}>
              <td>{t.notificationType}</td>
              <td>{enumLabel(ChannelSchema, t.channel)}</td>
              <td>{t.locale || 'default'}</td>
              <td>{t.version}</td>
              <td>
                {formatTime(t.updatedAt)} by {t.updatedBy}
              </td>
              <td>
                <button type="button" onClick={() => setDraft(draftOf(t))}>
                  Edit<span className="visually-hidden"> {t.notificationType} {enumLabel(ChannelSchema, t.channel)} {t.locale}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Edit a template</h2>
      <form onSubmit={onSave} className="route-form">
        <label htmlFor="tpl-type">Notification type</label>
        <input id="tpl-type" value={draft.notificationType} onChange={(e) => set({ notificationType: e.target.value })} required />
        <label htmlFor="tpl-channel">Channel</label>
        <select id="tpl-channel" value={draft.channel} onChange={(e) => set({ channel: Number(e.target.value) as Channel })}>
          {CHANNELS.map((c) => (
            <option key={c} value={c}>
              {enumLabel(ChannelSchema, c)}
            </option>
          ))}
        </select>
        <label htmlFor="tpl-locale">Locale (e.g. fr-CA; empty for the default)</label>
        <input id="tpl-locale" value={draft.locale} onChange={(e) => set({ locale: e.target.value })} />
        {hasTitle && (
          <>
            <label htmlFor="tpl-title">{draft.channel === Channel.EMAIL ? 'Subject' : 'Title'}</label>
            <input id="tpl-title" value={draft.title} onChange={(e) => set({ title: e.target.value })} />
          </>
        )}
        <label htmlFor="tpl-body">{draft.channel === Channel.EMAIL ? 'Text part' : 'Text'} (Liquid: title, body, data.*, type, priority, notification_id, locale)</label>
        <textarea id="tpl-body" rows={6} value={draft.body} onChange={(e) => set({ body: e.target.value })} required />
        {draft.channel === Channel.EMAIL && (
          <>
            <label htmlFor="tpl-html">HTML part (optional; values are escaped)</label>
            <textarea id="tpl-html" rows={6} value={draft.html} onChange={(e) => set({ html: e.target.value })} />
          </>
        )}
        {draft.channel === Channel.SLACK && (
          <>
            <label htmlFor="tpl-blocks">Block Kit blocks (optional; renders to a JSON array)</label>
            <textarea id="tpl-blocks" rows={6} value={draft.slackBlocks} onChange={(e) => set({ slackBlocks: e.target.value })} />
          </>
        )}
        <fieldset>
          <legend>Sample content for the preview</legend>
          <label htmlFor="tpl-sample-title">Sample title</label>
          <input id="tpl-sample-title" value={sample.title} onChange={(e) => setSample((s) => ({ ...s, title: e.target.value }))} />
          <label htmlFor="tpl-sample-body">Sample body</label>
          <input id="tpl-sample-body" value={sample.body} onChange={(e) => setSample((s) => ({ ...s, body: e.target.value }))} />
        </fieldset>
        <button type="button" onClick={onPreview} disabled={preview.isPending}>
          Preview
        </button>
        <button type="submit" disabled={save.isPending}>
          Save as a new version
        </button>
        {save.data && <p role="status">Saved as version {save.data.template?.version}.</p>}
        <ErrorNote error={save.error ?? preview.error} />
      </form>

      {rendered && (
        <section aria-labelledby="preview-title">
          <h2 id="preview-title">Preview</h2>
          {rendered.title && (
            <p>
              <strong>{draft.channel === Channel.EMAIL ? 'Subject' : 'Title'}:</strong> {rendered.title}
            </p>
          )}
          <pre className="preview">{rendered.body}</pre>
          {rendered.html && (
            <>
              <h3>HTML part (as source)</h3>
              <pre className="preview">{rendered.html}</pre>
            </>
          )}
          {rendered.slackBlocks && (
            <>
              <h3>Blocks</h3>
              <pre className="preview">{rendered.slackBlocks}</pre>
            </>
          )}
        </section>
      )}
    </section>
  );
}
