// A user's delivery preferences as the rules and the store see them, the defaults for users who never set any, and
// their API form.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import { type Preferences, PreferencesSchema } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import type { QuietWindow } from './quiet-hours.js';

export interface UserPreferences {
  contacts: { email: string; phone: string; slackUserId: string };
  timeZone: string;
  /** General quiet hours; null for none. */
  quietHours: QuietWindow | null;
  /** Per-channel windows; each replaces the general one for its channel. */
  channelQuietHours: { channel: Channel; quietHours: QuietWindow }[];
  defaultChannels: Channel[];
  typeChannels: { notificationType: string; channels: Channel[] }[];
  optedOutTypes: string[];
  optedOut: boolean;
  /** null: not chosen, which means true. */
  criticalOverridesQuietHours: boolean | null;
  /** BCP 47 tag for templates; '' (or absent, stored before locales) for the default. */
  locale?: string;
  /** The user's push devices (ids), from the devices collection, not stored here: filled in for planning. */
  pushDevices?: readonly string[];
}

export const DEFAULT_PREFERENCES: Readonly<UserPreferences> = Object.freeze({
  contacts: { email: '', phone: '', slackUserId: '' },
  timeZone: 'UTC',
  quietHours: null,
  channelQuietHours: [],
  defaultChannels: [Channel.IN_APP],
  typeChannels: [],
  optedOutTypes: [],
  optedOut: false,
  criticalOverridesQuietHours: null,
  locale: '',
});

export function toPreferences(userId: string, prefs: UserPreferences, version: number, updatedAt: Date | null): Preferences {
  return create(PreferencesSchema, {
    userId,
    contacts: prefs.contacts,
    timeZone: prefs.timeZone,
    quietHours: prefs.quietHours ?? undefined,
    channelQuietHours: prefs.channelQuietHours,
    defaultChannels: prefs.defaultChannels,
    typeChannels: prefs.typeChannels,
    optedOutTypes: prefs.optedOutTypes,
    optedOut: prefs.optedOut,
    criticalOverridesQuietHours: prefs.criticalOverridesQuietHours ?? undefined,
    locale: prefs.locale ?? '',
    version: BigInt(version),
    updatedAt: updatedAt ? timestampFromDate(updatedAt) : undefined,
  });
}
