// Preference: how each person wants to be reached, where each topic's notifications go, and the delivery rules.
import { PreferenceService } from '../../gen/pulse/preference/v1/preference_service_pb.js';
import type { ServiceModule } from '../platform/service.js';
import { DevicesRepository } from './devices.js';
import { GroupsRepository } from './groups.js';
import { preferenceHandlers } from './handlers.js';
import { PreferencesRepository } from './preferences.js';
import { RoutesRepository } from './routes.js';

export const preference: ServiceModule = {
  name: 'preference',
  peers: [],
  async start(rt) {
    const routes = new RoutesRepository(rt.store);
    await routes.init();
    if (await routes.seedDefaults(new Date())) rt.log.info('seeded the default topic routes');
    const devices = new DevicesRepository(rt.store);
    await devices.init();
    const handlers = preferenceHandlers({
      preferences: new PreferencesRepository(rt.store),
      routes,
      groups: new GroupsRepository(rt.store),
      devices,
      transaction: rt.transaction,
    });
    return { routes: (router) => router.service(PreferenceService, handlers) };
  },
};
