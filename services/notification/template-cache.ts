// Templates as the senders use them: each replica keeps the latest version of every template, compiled, in memory
// (templates are configuration: few, small), so a sender renders without a store read, even inside the unit of work
// that hands an in-app delivery to the inbox. The snapshot is loaded at start and again when template.changed
// arrives (the queue is shared, so one replica hears each event) or a save happens here, and every refreshMs on
// every replica, so the others pick up a change within it. The template for a recipient is the one of their
// locale, then of its language, then the default (fr-CA, fr, '').
import type { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { InboxContent } from '../../gen/pulse/events/v1/events_pb.js';
import type { Logger } from '../platform/log.js';
import type { DeliveryDoc } from './deliveries.js';
import type { NotificationDoc } from './notifications.js';
import type { OutgoingMessage } from './providers/provider.js';
import { inboxContent } from './status-events.js';
import { priorityName, renderFailure, type TemplateVariables } from './template-language.js';
import { type CompiledTemplate, compileTemplate, localeFallback, type Rendered, renderTemplate } from './template-parts.js';
import { type TemplateDoc, templateKeyOf, type TemplateRepository } from './templates.js';

export interface ResolvedTemplate {
  doc: TemplateDoc;
  compiled: CompiledTemplate;
}


export class TemplateCache {
  private snapshot = new Map<string, ResolvedTemplate>();
  /** Loads asked for while one runs: they share the next one. */
  private loading: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly templates: TemplateRepository,
    private readonly log: Logger,
  ) {}

  /** Reads every template's latest version again. Concurrent calls coalesce; a call during a load runs one more. */
  async refresh(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        this.snapshot = this.compile(await this.templates.latest());
      } while (this.again);
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** The template for a recipient's locale after the fallback, or null: the fixed layout applies. */
  resolve(notificationType: string, channel: Channel, locale: string): ResolvedTemplate | null {
    for (const candidate of localeFallback(locale)) {
      const found = this.snapshot.get(templateKeyOf(notificationType, channel, candidate));
      if (found) return found;
    }
    return null;
  }

  private compile(docs: readonly TemplateDoc[]): Map<string, ResolvedTemplate> {
    const snapshot = new Map<string, ResolvedTemplate>();
    for (const doc of docs) {
      const compiled = compileTemplate(doc.channel, doc);
      if ('template' in compiled) snapshot.set(templateKeyOf(doc.notificationType, doc.channel, doc.locale), { doc, compiled: compiled.template });
      // Checked on save, so only a template saved by an older, laxer version gets here.
      else this.log.warn({ notification_type: doc.notificationType, template_version: doc.version }, 'stored template no longer compiles; using the fixed layout');
    }
    return snapshot;
  }
}

export function templateVariables(
  message: Pick<OutgoingMessage, 'title' | 'body' | 'data' | 'notificationType' | 'priority' | 'notificationId'>,
  locale: string,
): TemplateVariables {
  return {
    title: message.title,
    body: message.body,
    data: message.data,
    type: message.notificationType,
    priority: priorityName(message.priority),
    notification_id: message.notificationId,
    locale,
  };
}

/** The rendered template, or undefined when there is none or it fails at send time (a limit hit): logged. */
type Renderable = Parameters<typeof templateVariables>[0] & { channel: Channel; deliveryId: string };

function rendering(cache: TemplateCache, message: Renderable, locale: string, log: Logger): Rendered | undefined {
  const resolved = cache.resolve(message.notificationType, message.channel, locale);
  if (!resolved) return undefined;
  try {
    return renderTemplate(resolved.compiled, templateVariables(message, locale));
  } catch (err) {
    log.warn(
      { delivery_id: message.deliveryId, notification_type: message.notificationType, template_version: resolved.doc.version, problem: renderFailure(err) },
      'template failed to render; using the fixed layout',
    );
    return undefined;
  }
}

/**
 * The message as its template writes it, for the recipient's locale: `rendered` set, which the channel's provider
 * uses instead of its fixed layout. Unchanged when the type has no template for the channel or it fails to render:
 * the fixed layout still carries the content.
 */
export function applyTemplate(cache: TemplateCache, message: OutgoingMessage, locale: string, log: Logger): OutgoingMessage {
  const rendered = rendering(cache, message, locale, log);
  return rendered ? { ...message, rendered } : message;
}

/** What the inbox stores for an in-app delivery: its template's title and body, else the notification's. */
export function templatedInboxContent(cache: TemplateCache, notification: NotificationDoc, delivery: DeliveryDoc, log: Logger): InboxContent {
  const content = inboxContent(notification);
  const message: Renderable = {
    ...notification.content,
    notificationType: notification.notificationType,
    priority: notification.priority,
    notificationId: notification._id,
    channel: delivery.channel,
    deliveryId: delivery._id,
  };
  const rendered = rendering(cache, message, delivery.locale ?? '', log);
  if (rendered) {
    content.title = rendered.title;
    content.body = rendered.body;
  }
  return content;
}
