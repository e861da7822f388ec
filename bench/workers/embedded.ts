// The embedded mesh on free ports, for scenario 5 when the standard ports (8081-8086) are taken: the same
// startMesh() as `npm start`, printing its URLs as JSON once every service is up.
import { startMesh } from '../../services/all-in-one/mesh.js';
import { runMain } from '../../services/platform/main.js';

await runMain(async () => {
  const mesh = await startMesh({ ports: 'free' });
  process.stdout.write(`${JSON.stringify({ urls: mesh.urls, token: mesh.token })}\n`);
  return mesh;
});
