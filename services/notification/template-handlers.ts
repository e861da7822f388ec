// The template RPCs of NotificationService: save (checked first), get, list and preview. Templates are stored by
// templates.ts and used by senders through template-cache.ts.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import { Channel, ChannelSchema, Priority, PrioritySchema } from '../../gen/pulse/common/v1/delivery_pb.js';
import {
  type NotificationService,
  type PreviewTemplateRequest,
  PreviewTemplateResponseSchema,
  type Template,
  TemplateSchema,
} from '../../gen/pulse/notification/v1/notification_service_pb.js';
import { callerName } from '../platform/access.js';
import { notFound } from '../platform/errors.js';
import type { Logger } from '../platform/log.js';
import { Validator } from '../platform/validate.js';
import type { OutgoingMessage } from './providers/provider.js';
import { applyTemplate, type TemplateCache, templateVariables } from './template-cache.js';
import { renderFailure } from './template-language.js';
import { type CompiledTemplate, compileTemplate, renderTemplate } from './template-parts.js';
import type { TemplateDoc, TemplateKey, TemplateRepository, TemplateSource } from './templates.js';
import { checkContent } from './validate.js';

type TemplateMethods = 'upsertTemplate' | 'getTemplate' | 'listTemplates' | 'previewTemplate';
export type TemplateHandlers = Pick<ServiceImpl<typeof NotificationService>, TemplateMethods>;

export interface TemplateHandlerDeps {
  templates: TemplateRepository;
  cache: TemplateCache;
  log: Logger;
  now?: () => Date;
}

const MAX_LOCALE = 35;

/** A BCP 47 tag in its canonical spelling ("fr-ca" -> "fr-CA"), '' for the default; problems go to v. */
export function canonicalLocale(v: Validator, field: string, locale: string): string {
  if (locale === '') return '';
  if (locale.length > MAX_LOCALE || !/^[A-Za-z0-9-]+$/.test(locale)) {
    v.add(field, `must be a BCP 47 language tag such as "fr" or "fr-CA" (letters, digits, '-', up to ${MAX_LOCALE})`);
    return '';
  }
  try {
    return Intl.getCanonicalLocales(locale)[0];
  } catch {
    v.add(field, 'must be a BCP 47 language tag such as "fr" or "fr-CA"');
    return '';
  }
}

function checkKey(v: Validator, field: string, notificationType: string, channel: Channel, locale: string): TemplateKey {
  const f = field ? `${field}.` : '';
  v.name(`${f}notification_type`, notificationType);
  v.enumValue(`${f}channel`, channel, ChannelSchema);
  return { notificationType, channel, locale: canonicalLocale(v, `${f}locale`, locale) };
}

function sourceOf(template: Template): TemplateSource {
  return { title: template.title, body: template.body, html: template.html, slackBlocks: template.slackBlocks };
}

/** Compiles a template from a request, reporting problems under `field` ("template.html: line 3: ..."). */
function checkTemplate(v: Validator, field: string, template: Template | undefined): { key: TemplateKey; compiled: CompiledTemplate } {
  const t = template ?? create(TemplateSchema);
  if (!template) v.add(field, 'is required');
  const key = checkKey(v, field, t.notificationType, t.channel, t.locale);
  v.check();
  const compiled = compileTemplate(t.channel, sourceOf(t));
  const problems = 'problems' in compiled ? compiled.problems : [];
  for (const [part, problem] of problems) v.add(`${field}.${part}`, problem);
  v.check();
  return { key, compiled: 'template' in compiled ? compiled.template : {} };
}

export function toTemplate(doc: TemplateDoc): Template {
  return create(TemplateSchema, {
    notificationType: doc.notificationType,
    channel: doc.channel,
    locale: doc.locale,
    title: doc.title,
    body: doc.body,
    html: doc.html,
    slackBlocks: doc.slackBlocks,
    version: doc.version,
    updatedBy: doc.updatedBy,
    updatedAt: timestampFromDate(doc.updatedAt),
  });
}

export function templateHandlers(deps: TemplateHandlerDeps): TemplateHandlers {
  const now = deps.now ?? (() => new Date());

  /** The sample message a preview renders, as a sender would build it. */
  function sample(req: PreviewTemplateRequest, notificationType: string, channel: Channel): OutgoingMessage {
    return {
      deliveryId: 'dlv_preview',
      notificationId: 'ntf_preview',
      channel,
      address: '',
      title: req.content?.title ?? '',
      body: req.content?.body ?? '',
      data: { ...req.content?.data },
      priority: req.priority || Priority.MEDIUM,
      notificationType,
      attempt: 1,
    };
  }

  return {
    async upsertTemplate(req, ctx) {
      const v = new Validator();
      const { key } = checkTemplate(v, 'template', req.template);
      const doc = await deps.templates.save(key, sourceOf(req.template as Template), callerName(ctx.values), now());
      await deps.cache.refresh(); // this replica at once; the others on template.changed or their periodic refresh
      return { template: toTemplate(doc) };
    },

    async getTemplate(req) {
      const v = new Validator();
      const key = checkKey(v, '', req.notificationType, req.channel, req.locale);
      if (req.version < 0) v.add('version', 'must be 0 (latest) or a version number');
      v.check();
      const doc = await deps.templates.get(key, req.version);
      if (!doc) {
        const which = `${key.notificationType} on ${Channel[key.channel]} in locale "${key.locale || 'default'}"`;
        throw notFound(req.version > 0 ? `version ${req.version} of the template for ${which} does not exist` : `no template for ${which}`);
      }
      return { template: toTemplate(doc) };
    },

    async listTemplates(req) {
      const v = new Validator();
      if (req.notificationType !== '') v.name('notification_type', req.notificationType);
      v.check();
      return { templates: (await deps.templates.latest(req.notificationType || undefined)).map(toTemplate) };
    },

    async previewTemplate(req) {
      const v = new Validator();
      checkContent(v, req.content);
      v.enumValue('priority', req.priority, PrioritySchema, { optional: true });
      if (req.template) {
        const { key, compiled } = checkTemplate(v, 'template', req.template);
        const message = sample(req, key.notificationType, key.channel);
        try {
          const rendered = renderTemplate(compiled, templateVariables(message, key.locale));
          return create(PreviewTemplateResponseSchema, { rendered, template: { ...req.template, version: 0 } });
        } catch (err) {
          throw new ConnectError(`template: does not render: ${renderFailure(err)}`, Code.InvalidArgument);
        }
      }
      const key = checkKey(v, '', req.notificationType, req.channel, req.locale);
      v.check();
      const resolved = deps.cache.resolve(key.notificationType, key.channel, key.locale);
      const message = sample(req, key.notificationType, key.channel);
      const applied = applyTemplate(deps.cache, message, key.locale, deps.log);
      const rendered = applied.rendered ?? { title: message.title, body: message.body, html: '', slackBlocks: '' };
      return create(PreviewTemplateResponseSchema, { rendered, template: resolved ? toTemplate(resolved.doc) : undefined });
    },
  };
}
