// What a push notification says, the same for browsers and phones: a title and a short body (the template's when
// the type has one), the notification's data and ids for the app to open it, and an urgency from the priority. No
// I/O. Push payloads are small (Web Push: 4 KB after encryption; FCM: 4 KB), so text is cut and data bounded.
import { Priority } from '../../../gen/pulse/common/v1/delivery_pb.js';
import type { OutgoingMessage } from './provider.js';
import { fitText, normaliseWhitespace } from './text-fit.js';

const TITLE_MAX = 120;
const BODY_MAX = 1_000;
const DATA_MAX_BYTES = 1_500;

export interface PushMessage {
  title: string;
  body: string;
  /** String values only (FCM's data map); ids let the app open the notification. */
  data: Record<string, string>;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
}

/** The notification's data, in order, while it fits the budget; Pulse's ids always. */
function boundedData(message: OutgoingMessage): Record<string, string> {
  const data: Record<string, string> = { notification_id: message.notificationId, notification_type: message.notificationType };
  let used = Buffer.byteLength(JSON.stringify(data));
  for (const [key, value] of Object.entries(message.data)) {
    const cost = Buffer.byteLength(JSON.stringify({ [key]: value }));
    if (used + cost > DATA_MAX_BYTES || key in data) continue;
    data[key] = value;
    used += cost;
  }
  return data;
}

const URGENCY: Record<Priority, PushMessage['urgency']> = {
  [Priority.UNSPECIFIED]: 'normal',
  [Priority.LOW]: 'low',
  [Priority.MEDIUM]: 'normal',
  [Priority.HIGH]: 'high',
  [Priority.CRITICAL]: 'high',
};

export function pushMessage(message: OutgoingMessage): PushMessage {
  const title = message.rendered ? message.rendered.title : message.title;
  const body = message.rendered ? message.rendered.body : message.body;
  return {
    title: fitText(normaliseWhitespace(title), TITLE_MAX),
    body: fitText(body.trim(), BODY_MAX),
    data: boundedData(message),
    urgency: URGENCY[message.priority] ?? 'normal',
  };
}
