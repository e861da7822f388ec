// Twilio's status callbacks: the StatusCallback URL each SMS send names (PULSE_PUBLIC_URL + SMS_STATUS_PATH) is
// served here, beside the RPCs and without a token. A callback is believed only when its X-Twilio-Signature is
// Twilio's HMAC of that URL and the form fields under our auth token (twilio.validateRequest) and it names our
// account; anything else is 403 and changes nothing. A believed one moves the deliveries its message carried
// through the delivery engine, forward only (transitions.ts: from SENT to DELIVERED or FAILED), so a callback
// replayed, repeated or arriving out of order changes nothing either.
import twilio from 'twilio';
import { Channel } from '../../gen/pulse/common/v1/delivery_pb.js';
import type { Logger } from '../platform/log.js';
import type { WebhookRequest, WebhookRoute } from '../platform/server.js';
import type { DeliveryRepository } from './deliveries.js';
import type { DeliveryEngine } from './delivery-engine.js';
import type { SmsConfig } from './providers/sms-config.js';
import { receiptOf } from './providers/twilio-status.js';

export interface SmsReceiptDeps {
  config: Pick<SmsConfig, 'accountSid' | 'authToken'> & { statusCallbackUrl: string };
  deliveries: DeliveryRepository;
  engine: DeliveryEngine;
  log: Logger;
  now?: () => Date;
}

const answer = (status: number, body = '') => ({ status, contentType: 'text/plain', body });

function header(request: WebhookRequest, name: string): string {
  const value = request.headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

export function smsReceipts(deps: SmsReceiptDeps): WebhookRoute {
  const now = deps.now ?? (() => new Date());
  return async (request) => {
    if (!header(request, 'content-type').startsWith('application/x-www-form-urlencoded')) return answer(415, 'form expected\n');
    const params = Object.fromEntries(new URLSearchParams(request.body.toString('utf8')));
    const signature = header(request, 'x-twilio-signature');
    const genuine = signature !== '' && twilio.validateRequest(deps.config.authToken, signature, deps.config.statusCallbackUrl, params);
    if (!genuine || params.AccountSid !== deps.config.accountSid) {
      deps.log.warn({ signed: signature !== '' }, 'twilio status callback refused: bad signature or account');
      return answer(403, 'signature mismatch\n');
    }
    const receipt = receiptOf(params.MessageStatus ?? '', params.ErrorCode ?? '');
    const sid = params.MessageSid ?? '';
    if (!receipt || sid === '') return answer(204);
    const carried = await deps.deliveries.byProviderMessage(Channel.SMS, sid);
    const moved = await deps.engine.moveEach(carried, { kind: 'confirm', ...receipt }, now());
    deps.log.debug({ message_sid: sid, status: params.MessageStatus, moved: moved.length }, 'twilio status callback');
    return answer(204);
  };
}
