// Templates over HTTP against the real module: saved versions, checks on save, preview, and what a sender gets.
import { create } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { TemplateChangedSchema } from '../../gen/pulse/events/v1/events_pb.js';
import { type Template, TemplateSchema } from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { until } from '../../test/support/poll.js';
import { rejectionOf } from '../../test/support/rejection.js';
import { type Harness, startHarness } from './test-support.js';
import type { TemplateDoc } from './templates.js';

const content = { title: 'Invoice <42> overdue', body: 'Pay by Friday', data: { invoice: '42' } };

function template(fields: Partial<Pick<Template, 'locale' | 'title' | 'body' | 'html' | 'slackBlocks' | 'channel' | 'notificationType'>>): Template {
  return create(TemplateSchema, { notificationType: 'invoice.overdue', channel: Channel.EMAIL, ...fields });
}

describe('templates', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.stop());

  it('saves versions, gets the latest or a given one, lists the latest of each', async () => {
    const first = await h.client.upsertTemplate({ template: template({ locale: 'fr', title: 'Facture {{ data.invoice }}', body: 'v1' }) });
    const second = await h.client.upsertTemplate({ template: template({ locale: 'FR', title: 'Facture {{ data.invoice }} en retard', body: 'v2' }) });
    expect([first.template?.version, second.template?.version]).toEqual([1, 2]);
    expect(second.template?.locale).toBe('fr');
    expect((await h.client.getTemplate({ notificationType: 'invoice.overdue', channel: Channel.EMAIL, locale: 'fr' })).template?.body).toBe('v2');
    expect((await h.client.getTemplate({ notificationType: 'invoice.overdue', channel: Channel.EMAIL, locale: 'fr', version: 1 })).template?.body).toBe('v1');
    const listed = await h.client.listTemplates({ notificationType: 'invoice.overdue' });
    expect(listed.templates.filter((t) => t.locale === 'fr').map((t) => t.version)).toEqual([2]);
    const missing = await rejectionOf(h.client.getTemplate({ notificationType: 'invoice.overdue', channel: Channel.SMS }));
    expect(missing.code).toBe(Code.NotFound);
  });

  it('refuses a template with a syntax error or an unknown variable, naming the part and line', async () => {
    const err = await rejectionOf(
      h.client.upsertTemplate({ template: template({ title: '{{ title }}', body: 'Hello\n{{ contnet }}', html: '<p>{% if title %}</p>' }) }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain('template.body: line 2: unknown variable "contnet"');
    expect(err.rawMessage).toMatch(/template\.html: line 1: tag \{% if title %\} not closed/);
    const none = await rejectionOf(h.client.getTemplate({ notificationType: 'invoice.overdue', channel: Channel.EMAIL, locale: '' }));
    expect(none.code).toBe(Code.NotFound); // nothing saved
  });

  it('previews an unsaved template and the stored one after the locale fallback', async () => {
    const unsaved = await h.client.previewTemplate({
      template: template({ title: '{{ title }}', body: '{{ body }}', html: '<b>{{ title }}</b>' }),
      content,
    });
    expect(unsaved.rendered?.html).toBe('<b>Invoice &lt;42&gt; overdue</b>');
    const stored = await h.client.previewTemplate({ notificationType: 'invoice.overdue', channel: Channel.EMAIL, locale: 'fr-CA', content });
    expect(stored.rendered?.title).toBe('Facture 42 en retard');
    expect(stored.template?.locale).toBe('fr');
    const none = await h.client.previewTemplate({ notificationType: 'no.template', channel: Channel.PUSH, content });
    expect(none.rendered).toMatchObject({ title: content.title, body: content.body });
    expect(none.template).toBeUndefined();
    const notBlocks = await rejectionOf(
      h.client.previewTemplate({ template: template({ channel: Channel.SLACK, body: 'x', slackBlocks: '{"type":"divider"}' }), content }),
    );
    expect([notBlocks.code, notBlocks.rawMessage]).toEqual([Code.InvalidArgument, 'template: does not render: slack_blocks must render to a JSON array of blocks']);
  });

  it('drops cached templates when template.changed arrives (a save on another replica)', async () => {
    const key = { notificationType: 'plan.renewed', channel: Channel.SMS, locale: '' };
    await h.client.upsertTemplate({ template: template({ ...key, body: 'v1 {{ title }}' }) });
    const preview = async () => (await h.client.previewTemplate({ ...key, content })).rendered?.body;
    expect(await preview()).toBe('v1 Invoice <42> overdue');
    // Another replica saves version 2: the store changes, this replica's cache does not until the event comes.
    const templates = h.store.collection<TemplateDoc>('templates');
    const stored = await templates.findOne({ ...key, version: 1 });
    await templates.insertOne({ ...stored!, _id: 'tpl_other', body: 'v2 {{ title }}', version: 2 });
    expect(await preview()).toBe('v1 Invoice <42> overdue');
    await h.publish('template.changed', create(TemplateChangedSchema, { eventId: 'evt-tpl-1', ...key, version: 2 }));
    await until('cache dropped', async () => ((await preview()) === 'v2 Invoice <42> overdue' ? true : undefined));
  });

  it("renders each delivery in its recipient's locale, with the fixed layout where no template applies", async () => {
    await h.client.upsertTemplate({ template: template({ title: 'Invoice {{ data.invoice }}', body: 'Default {{ body }}', html: '<p>{{ title }}</p>' }) });
    h.preference.users.set('ana', [{ channel: Channel.EMAIL, address: 'ana@example.com', locale: 'fr-CA' }]);
    h.preference.users.set('bob', [{ channel: Channel.EMAIL, address: 'bob@example.com', locale: 'de' }]);
    h.preference.users.set('cy', [{ channel: Channel.SMS, address: '+14155550100', locale: 'fr' }]);
    const email = h.providers.get(Channel.EMAIL)!;
    const sms = h.providers.get(Channel.SMS)!;
    for (const user of ['ana', 'bob', 'cy']) {
      await h.client.sendNotification({
        idempotencyKey: `tpl/${user}`,
        recipient: { target: { case: 'userId', value: user } },
        notificationType: 'invoice.overdue',
        content,
      });
    }
    await until('three messages sent', async () => (email.calls.length >= 2 && sms.calls.length >= 1 ? true : undefined));
    const byAddress = new Map(email.calls.map((m) => [m.address, m]));
    expect(byAddress.get('ana@example.com')?.rendered?.title).toBe('Facture 42 en retard');
    expect(byAddress.get('bob@example.com')?.rendered).toMatchObject({ title: 'Invoice 42', body: 'Default Pay by Friday', html: '<p>Invoice &lt;42&gt; overdue</p>' });
    expect(sms.calls[0].rendered).toBeUndefined(); // no SMS template: the fixed layout
  });

  it('hands in-app deliveries to the inbox with their template, on acceptance', async () => {
    await h.client.upsertTemplate({ template: template({ channel: Channel.IN_APP, locale: 'fr', title: 'Facture {{ data.invoice }}', body: '{{ body }} !' }) });
    h.preference.users.set('dee', [{ channel: Channel.IN_APP, address: 'dee', locale: 'fr-BE' }]);
    h.preference.users.set('eve', [{ channel: Channel.IN_APP, address: 'eve' }]);
    for (const user of ['dee', 'eve']) {
      await h.client.sendNotification({ idempotencyKey: `tpl/inbox/${user}`, recipient: { target: { case: 'userId', value: user } }, notificationType: 'invoice.overdue', content });
    }
    const inboxOf = (user: string) =>
      h.statuses.events.flatMap((e) => e.deliveryChanges).find((c) => c.userId === user && c.inbox !== undefined)?.inbox;
    await until('both handed to the inbox', async () => (inboxOf('dee') && inboxOf('eve') ? true : undefined));
    expect(inboxOf('dee')).toMatchObject({ title: 'Facture 42', body: 'Pay by Friday !', data: { invoice: '42' } });
    expect(inboxOf('eve')).toMatchObject({ title: content.title, body: content.body });
  });
});
