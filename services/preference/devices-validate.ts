// Checks of device registrations. A Web Push subscription is what a browser's PushSubscription.toJSON() gives: an
// https endpoint, a P-256 public key (65 bytes, uncompressed) and a 16-byte auth secret, both base64url. An FCM
// registration token is an opaque string.
import type { Device } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import type { Validator } from '../platform/validate.js';
import type { Registration } from './devices.js';

const MAX_ENDPOINT = 1024;
const MAX_TOKEN = 4096;
const MAX_LABEL = 100;

function base64urlBytes(value: string): number | undefined {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(value)) return undefined;
  return Buffer.from(value.replace(/=+$/, ''), 'base64url').length;
}

function httpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

/** The registration and label of a device to register; problems go to v under `device`. */
export function checkDevice(v: Validator, device: Device | undefined): { registration: Registration; label: string } {
  const d = v.nested('device');
  const label = device?.label ?? '';
  if (label.length > MAX_LABEL) d.add('label', `must be at most ${MAX_LABEL} characters`);
  const registration = device?.registration;
  switch (registration?.case) {
    case 'webPush': {
      const { endpoint, p256dh, auth } = registration.value;
      const w = d.nested('web_push');
      if (endpoint === '') w.add('endpoint', 'is required');
      else if (endpoint.length > MAX_ENDPOINT) w.add('endpoint', `must be at most ${MAX_ENDPOINT} characters`);
      else if (!httpsUrl(endpoint)) w.add('endpoint', 'must be an https URL');
      const key = base64urlBytes(p256dh);
      if (key !== 65 || Buffer.from(p256dh, 'base64url')[0] !== 0x04) w.add('p256dh', 'must be an uncompressed P-256 public key (65 bytes), base64url');
      if (base64urlBytes(auth) !== 16) w.add('auth', 'must be a 16-byte secret, base64url');
      return { registration: { kind: 'web_push', endpoint, p256dh, auth }, label };
    }
    case 'fcmToken': {
      const token = registration.value;
      if (token === '') d.add('fcm_token', 'is required');
      else if (token.length > MAX_TOKEN || /\s/.test(token)) d.add('fcm_token', `must be at most ${MAX_TOKEN} characters without spaces`);
      return { registration: { kind: 'fcm', token }, label };
    }
    default:
      d.add('registration', 'is required: set web_push or fcm_token');
      return { registration: { kind: 'fcm', token: '' }, label };
  }
}
