// The templates collection: every saved version of every template, one document per version. A save inserts the
// next version (a unique index on type, channel, locale and version makes two concurrent saves of one template
// land as two versions, never one overwriting the other) and announces it with template.changed in the same unit
// of work. Templates are configuration, not history: they are kept until deleted by hand.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { TemplateChangedSchema } from '../../gen/pulse/events/v1/events_pb.js';
import { newId } from '../platform/ids.js';
import { type Doc, isDuplicateKey, type Store } from '../platform/store/collection.js';
import { compareAndSet, RETRY } from '../platform/store/compare-and-set.js';
import type { Transact } from '../platform/unit-of-work.js';

/** One string per template: type, channel and locale (a template's versions share it). */
export const templateKeyOf = (notificationType: string, channel: Channel, locale: string) => `${notificationType}\u0000${channel}\u0000${locale}`;

/** What a template says, part by part (template-parts.ts says which parts each channel has). */
export interface TemplateSource {
  title: string;
  body: string;
  html: string;
  slackBlocks: string;
}

export interface TemplateKey {
  notificationType: string;
  channel: Channel;
  /** '' for the default. */
  locale: string;
}

export interface TemplateDoc extends Doc, TemplateKey, TemplateSource {
  version: number;
  updatedBy: string;
  updatedAt: Date;
}

const COLLECTION = 'templates';

export class TemplateRepository {
  constructor(
    private readonly store: Store,
    private readonly transaction: Transact,
  ) {}

  private get collection() {
    return this.store.collection<TemplateDoc>(COLLECTION);
  }

  async init(): Promise<void> {
    await this.collection.createIndex({ notificationType: 1, channel: 1, locale: 1, version: -1 }, { unique: true });
  }

  /** The latest version, or the one asked for (version > 0). */
  get(key: TemplateKey, version = 0): Promise<TemplateDoc | null> {
    const filter = { notificationType: key.notificationType, channel: key.channel, locale: key.locale };
    if (version > 0) return this.collection.findOne({ ...filter, version });
    return this.collection.findOne(filter, { sort: { version: -1 } });
  }

  /** The latest version of each template, optionally of one type, by type, channel and locale. */
  async latest(notificationType?: string): Promise<TemplateDoc[]> {
    const all = await this.collection.find(notificationType ? { notificationType } : {}, {
      sort: { notificationType: 1, channel: 1, locale: 1, version: -1 },
    });
    const seen = new Set<string>();
    return all.filter((doc) => {
      const id = templateKeyOf(doc.notificationType, doc.channel, doc.locale);
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  }

  /** Stores the next version and emits template.changed with it. */
  async save(key: TemplateKey, source: TemplateSource, updatedBy: string, at: Date): Promise<TemplateDoc> {
    // Two saves of one template race for the next version number: the unique index lets one win, the other reads again.
    return compareAndSet(`template "${key.notificationType}"`, async () => {
      const previous = await this.get(key);
      const doc: TemplateDoc = { _id: newId('tpl'), ...key, ...source, version: (previous?.version ?? 0) + 1, updatedBy, updatedAt: at };
      try {
        await this.transaction(async (tx) => {
          await tx.collection<TemplateDoc>(COLLECTION).insertOne(doc);
          await tx.emit(
            'template.changed',
            create(TemplateChangedSchema, { eventId: newId('evt'), occurredAt: timestampFromDate(at), ...key, version: doc.version }),
          );
        });
        return doc;
      } catch (err) {
        if (isDuplicateKey(err)) return RETRY;
        throw err;
      }
    });
  }
}
