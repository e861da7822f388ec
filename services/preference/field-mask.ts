// UpdatePreferences' field mask: which paths a caller may name, and the stored values they set. Only the fields
// named are read from the request; a named field left empty goes back to its default (no contact, UTC, no quiet
// hours, in-app only, ...). Plain functions; problems are reported under update_mask or the field's own path.
import type { FieldMask } from '@bufbuild/protobuf/wkt';
import type { Preferences } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import type { Validator } from '../platform/validate.js';
import { locale } from './locale.js';
import { DEFAULT_PREFERENCES } from './user-preferences.js';
import {
  channelQuietHours,
  defaultChannels,
  email,
  notificationTypes,
  phone,
  quietWindow,
  slackUserId,
  timeZone,
  typeChannels,
} from './validate.js';

/** Stored field path -> new value. */
export type Changes = Record<string, unknown>;

type Reader = (v: Validator, prefs: Preferences) => Changes;

const contacts = (prefs: Preferences) => prefs.contacts ?? { email: '', phone: '', slackUserId: '' };

/** Every path a caller may name (proto field names), with how its new value is read and checked. */
const READERS: Record<string, Reader> = {
  contacts: (v, p) => ({
    contacts: {
      email: email(v, 'contacts.email', contacts(p).email),
      phone: phone(v, 'contacts.phone', contacts(p).phone),
      slackUserId: slackUserId(v, 'contacts.slack_user_id', contacts(p).slackUserId),
    },
  }),
  'contacts.email': (v, p) => ({ 'contacts.email': email(v, 'contacts.email', contacts(p).email) }),
  'contacts.phone': (v, p) => ({ 'contacts.phone': phone(v, 'contacts.phone', contacts(p).phone) }),
  'contacts.slack_user_id': (v, p) => ({ 'contacts.slackUserId': slackUserId(v, 'contacts.slack_user_id', contacts(p).slackUserId) }),
  time_zone: (v, p) => ({ timeZone: timeZone(v, 'time_zone', p.timeZone) }),
  quiet_hours: (v, p) => ({ quietHours: quietWindow(v, 'quiet_hours', p.quietHours) }),
  channel_quiet_hours: (v, p) => ({ channelQuietHours: channelQuietHours(v, 'channel_quiet_hours', p.channelQuietHours) }),
  default_channels: (v, p) => ({ defaultChannels: defaultChannels(v, 'default_channels', p.defaultChannels) }),
  type_channels: (v, p) => ({ typeChannels: typeChannels(v, 'type_channels', p.typeChannels) }),
  opted_out_types: (v, p) => ({ optedOutTypes: notificationTypes(v, 'opted_out_types', p.optedOutTypes) }),
  opted_out: (_v, p) => ({ optedOut: p.optedOut }),
  critical_overrides_quiet_hours: (_v, p) => ({ criticalOverridesQuietHours: p.criticalOverridesQuietHours ?? null }),
  locale: (v, p) => ({ locale: locale(v, 'locale', p.locale) }),
};
// A Map, so that names such as "constructor" are not found on Object.prototype.
const PATHS = new Map(Object.entries(READERS));

const OUTPUT_ONLY = new Set(['user_id', 'version', 'updated_at']);

/** The mask's paths, checked; a path whose parent is also named is dropped (the parent covers it). */
export function readMask(v: Validator, mask: FieldMask | undefined): string[] {
  const paths = [...new Set(mask?.paths ?? [])];
  if (paths.length === 0) {
    v.add('update_mask', 'is required: name the fields to change, e.g. "time_zone,quiet_hours"');
    return [];
  }
  for (const path of paths) {
    const shown = path.slice(0, 64);
    if (OUTPUT_ONLY.has(path)) v.add('update_mask', `"${shown}" is output only`);
    else if (!PATHS.has(path)) v.add('update_mask', `unknown field "${shown}" (one of ${[...PATHS.keys()].join(', ')})`);
  }
  return paths.filter((path) => PATHS.has(path) && !paths.some((other) => path.startsWith(`${other}.`)));
}

/** The stored values the named paths set, each checked (v is nested at `preferences`). */
export function maskedChanges(v: Validator, prefs: Preferences, paths: readonly string[]): Changes {
  return Object.assign({}, ...paths.map((path) => PATHS.get(path)!(v, prefs))) as Changes;
}

/**
 * Defaults for the stored fields a change leaves alone, for a user's first update. Contacts are filled leaf by leaf,
 * so they never overlap a changed leaf (MongoDB refuses an update that sets a path and its parent).
 */
export function untouchedDefaults(changes: Changes): Changes {
  const defaults: Changes = {};
  for (const [field, value] of Object.entries(DEFAULT_PREFERENCES)) {
    if (field === 'contacts') {
      if ('contacts' in changes) continue;
      for (const [leaf, empty] of Object.entries(value as Record<string, string>)) {
        if (!(`contacts.${leaf}` in changes)) defaults[`contacts.${leaf}`] = empty;
      }
    } else if (!(field in changes)) {
      defaults[field] = value;
    }
  }
  return defaults;
}
