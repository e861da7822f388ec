// What a Twilio status callback means for a delivery. Twilio reports a message's progress as MessageStatus
// (queued, sending, sent, delivered, undelivered, failed, ...); only the last word about it moves a delivery:
// delivered -> DELIVERED, undelivered or failed -> FAILED with the error code as the reason. Everything else is
// progress Pulse already shows as SENT. No I/O.
import { DeliveryState } from '../../../gen/pulse/common/v1/delivery_pb.js';

export type Receipt = { state: DeliveryState.DELIVERED; reason: '' } | { state: DeliveryState.FAILED; reason: string };

export function receiptOf(status: string, errorCode: string): Receipt | null {
  switch (status) {
    case 'delivered':
      return { state: DeliveryState.DELIVERED, reason: '' };
    case 'undelivered':
    case 'failed': {
      const code = /^\d{1,6}$/.test(errorCode) ? ` (Twilio error ${errorCode})` : '';
      return { state: DeliveryState.FAILED, reason: `carrier reported the SMS ${status}${code}` };
    }
    default:
      return null;
  }
}
