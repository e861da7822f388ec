// The device RPCs of PreferenceService: users register, list and remove the browsers and phones they receive push
// notifications on; notification's push provider reads one device's registration (GetDevice) and prunes the ones
// their push service reports gone (PruneDevice). Every change emits preference.changed for the user, so cached
// delivery plans (which list the devices) are dropped.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { ServiceImpl } from '@connectrpc/connect';
import { type Device, DeviceSchema, type PreferenceService } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import { requireUser } from '../platform/access.js';
import { failedPrecondition, notFound } from '../platform/errors.js';
import type { Transact } from '../platform/unit-of-work.js';
import { Validator } from '../platform/validate.js';
import { type DeviceDoc, deviceIdOf, type DevicesRepository, MAX_DEVICES_PER_USER } from './devices.js';
import { changed } from './changed.js';
import { checkDevice } from './devices-validate.js';

type DeviceMethods = 'registerDevice' | 'listDevices' | 'removeDevice' | 'getDevice' | 'pruneDevice';
export type DeviceHandlers = Pick<ServiceImpl<typeof PreferenceService>, DeviceMethods>;

export interface DeviceHandlerDeps {
  devices: DevicesRepository;
  transaction: Transact;
  now?: () => Date;
}

/** A device as the API shows it; with `secrets` its keys or token too (GetDevice only). */
export function toDevice(doc: DeviceDoc, secrets: boolean): Device {
  const r = doc.registration;
  return create(DeviceSchema, {
    deviceId: doc._id,
    userId: doc.userId,
    registration:
      r.kind === 'web_push'
        ? { case: 'webPush', value: { endpoint: r.endpoint, p256dh: secrets ? r.p256dh : '', auth: secrets ? r.auth : '' } }
        : { case: 'fcmToken', value: secrets ? r.token : '' },
    label: doc.label,
    createdAt: timestampFromDate(doc.createdAt),
    updatedAt: timestampFromDate(doc.updatedAt),
  });
}

export function deviceHandlers(deps: DeviceHandlerDeps): DeviceHandlers {
  const now = deps.now ?? (() => new Date());

  return {
    async registerDevice(req, ctx) {
      const v = new Validator().id('user_id', req.userId);
      const { registration, label } = checkDevice(v, req.device);
      v.check();
      requireUser(ctx.values, 'preferences', req.userId);
      const { device, created } = await deps.transaction(async (tx) => {
        const at = now();
        const own = await deps.devices.ofUser(req.userId, tx);
        const id = deviceIdOf(registration);
        if (own.length >= MAX_DEVICES_PER_USER && !own.some((d) => d._id === id)) {
          throw failedPrecondition(`user "${req.userId}" has ${own.length} devices, the most allowed; remove one with RemoveDevice first`);
        }
        const result = await deps.devices.register(tx, req.userId, registration, label, at);
        await changed(tx, at, { case: 'userId', value: req.userId });
        return result;
      });
      return { device: toDevice(device, false), created };
    },

    async listDevices(req, ctx) {
      new Validator().id('user_id', req.userId).check();
      requireUser(ctx.values, 'preferences', req.userId);
      return { devices: (await deps.devices.ofUser(req.userId)).map((doc) => toDevice(doc, false)) };
    },

    async removeDevice(req, ctx) {
      new Validator().id('user_id', req.userId).id('device_id', req.deviceId).check();
      requireUser(ctx.values, 'preferences', req.userId);
      const remaining = await deps.transaction(async (tx) => {
        if ((await deps.devices.remove(tx, req.deviceId, req.userId)) === null) return undefined;
        await changed(tx, now(), { case: 'userId', value: req.userId });
        return (await deps.devices.ofUser(req.userId, tx)).length;
      });
      if (remaining === undefined) throw notFound(`user "${req.userId}" has no device "${req.deviceId}" (ListDevices lists them)`);
      return { remainingDevices: remaining };
    },

    async getDevice(req) {
      new Validator().id('device_id', req.deviceId).check();
      const doc = await deps.devices.get(req.deviceId);
      if (!doc) throw notFound(`there is no device "${req.deviceId}": it was removed`);
      return { device: toDevice(doc, true) };
    },

    async pruneDevice(req) {
      new Validator().id('device_id', req.deviceId).text('reason', req.reason, { max: 200, optional: true }).check();
      const removed = await deps.transaction(async (tx) => {
        const userId = await deps.devices.remove(tx, req.deviceId);
        if (userId !== null) await changed(tx, now(), { case: 'userId', value: userId });
        return userId !== null;
      });
      return { removed };
    },
  };
}
