// `npm start`: the whole mesh in one process, with a development token and a curl example to paste.
import { fileURLToPath } from 'node:url';
import { ensureConsoleBuilt } from '../gateway/console-build.js';
import { startGateway } from '../gateway/gateway.js';
import { EnvReader } from '../platform/config.js';
import { createLogger } from '../platform/log.js';
import { runMain } from '../platform/main.js';
import { ROLES } from '../platform/scopes.js';
import { startMesh } from './mesh.js';

await runMain(async () => {
  const env = new EnvReader();
  const gatewayPort = env.int('PULSE_GATEWAY_PORT', 8080, { min: 0, max: 65_535 });
  env.check();
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  // The console is built (when missing or stale) while the services start.
  const [mesh, built] = await Promise.all([startMesh(), ensureConsoleBuilt(repoRoot)]);
  if (built) process.stdout.write('Built the console (console/dist).\n');
  const gateway = await startGateway({
    port: gatewayPort,
    upstreams: mesh.urls,
    consoleDir: `${repoRoot}console/dist`,
    log: createLogger('gateway', process.env.LOG_LEVEL ?? 'info'),
  }).catch(async (err: unknown) => {
    await mesh.stop();
    throw err;
  });
  const lines = [
    '',
    `Pulse is running (embedded bus and store), ready ${Math.round(process.uptime() * 1000)} ms after start:`,
    `  ${'console'.padEnd(13)} ${gateway.url}   (sign in with the token below; also routes /pulse.<service>.v1.* to each service)`,
    ...Object.entries(mesh.urls).map(([name, url]) => `  ${name.padEnd(13)} ${url}`),
    '',
    mesh.generatedToken
      ? [
          'Development token (generated for this run): identity "dev", role admin, so it may call every RPC.',
          'Set PULSE_API_TOKENS to choose your own, e.g. "ops:<token>:admin,crm:<token>:client,ann:<token>:reviewer"',
          `(roles: ${ROLES.join(', ')}; scopes and JWTs: docs/security.md).`,
          `  export PULSE_TOKEN=${mesh.token}`,
        ].join('\n')
      : 'Using the tokens in PULSE_API_TOKENS (set PULSE_DEV_TOKEN to have one printed in the examples).',
    '',
    'Try it:',
    `  curl -s${mesh.urls.ingestion.startsWith('https:') ? ` --cacert ${process.env.PULSE_TLS_CA_FILE ?? '<ca.pem>'}` : ''} ${mesh.urls.ingestion}/pulse.ingestion.v1.IngestionService/SubmitInteraction \\`,
    `    -H "Authorization: Bearer ${mesh.generatedToken ? '$PULSE_TOKEN' : '<token>'}" -H 'Content-Type: application/json' \\`,
    `    -d '{"messageId":"m-1","conversationId":"c-1","customerId":"cust-1","author":"AUTHOR_CUSTOMER","text":"This is the third time I ask. Refund me now or I cancel!"}'`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return {
    async stop() {
      await gateway.close();
      await mesh.stop();
    },
  };
});
