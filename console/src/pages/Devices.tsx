// My devices: the browsers and phones registered for push notifications, and a way to remove one. Registering
// happens on the device itself (a browser's Web Push subscription, an app's FCM token), through RegisterDevice.
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { PreferenceService } from '../../../gen/pulse/preference/v1/preference_service_pb.js';
import { ErrorNote } from '../components/ErrorNote';
import { formatTime } from '../format';
import { useSession } from '../session';

export function Devices() {
  const { userId } = useSession();
  const devices = useQuery(PreferenceService.method.listDevices, { userId });
  const remove = useMutation(PreferenceService.method.removeDevice, { onSuccess: () => devices.refetch() });
  const list = devices.data?.devices ?? [];
  return (
    <section aria-labelledby="devices-title">
      <h2 id="devices-title">My devices for push notifications</h2>
      <ErrorNote error={devices.error ?? remove.error} />
      {list.length === 0 && !devices.isPending && <p>No device is registered for push notifications.</p>}
      <ul>
        {list.map((d) => (
          <li key={d.deviceId}>
            <strong>{d.label || (d.registration.case === 'webPush' ? 'A browser' : 'A mobile app')}</strong>{' '}
            ({d.registration.case === 'webPush' ? 'Web Push' : 'Firebase'}, registered {formatTime(d.createdAt)}){' '}
            <button type="button" onClick={() => remove.mutate({ userId, deviceId: d.deviceId })} disabled={remove.isPending}>
              Remove<span className="visually-hidden"> {d.label || d.deviceId}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
