import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { startBrokerMesh } from './support/mesh.ts';
import { Author } from '../../gen/pulse/common/v1/conversation_pb.ts';
import { IngestionService } from '../../gen/pulse/ingestion/v1/ingestion_service_pb.ts';
const env = await startBrokerMesh({});
const transport = createGrpcTransport({ baseUrl: env.mesh.url('ingestion'), defaultTimeoutMs: 15_000, interceptors: [(next) => (req) => { req.header.set('authorization', `Bearer ${env.mesh.token}`); return next(req); }] });
const apis = Array.from({ length: Number(process.env.CONNS ?? 1) }, () => createClient(IngestionService, createGrpcTransport({ baseUrl: env.mesh.url('ingestion'), defaultTimeoutMs: 15_000, interceptors: [(next) => (req) => { req.header.set('authorization', `Bearer ${env.mesh.token}`); return next(req); }] })));
let n = 0;
async function open(rate: number, ms: number) {
  const start = Date.now(); const codes: Record<string, number> = {}; const pending: Promise<void>[] = []; const msgs: Record<string, string> = {};
  for (let i = 0; ; i++) {
    const due = start + (i * 1000) / rate; if (due - start >= ms) break;
    const wait = due - Date.now(); if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const k0 = n++;
    pending.push(apis[k0 % apis.length].submitInteraction({ messageId: `m-${k0}`, conversationId: `c-${k0 % 50}`, customerId: 'c', author: Author.CUSTOMER, text: 'Thanks!' }).then(() => { codes.ok = (codes.ok ?? 0) + 1; }, (e) => { const ce = ConnectError.from(e); const k = Code[ce.code]; codes[k] = (codes[k] ?? 0) + 1; msgs[ce.message] = (msgs[ce.message] ?? 0) + 1; }));
  }
  await Promise.all(pending);
  console.log(`open ${rate}/s for ${ms}ms:`, codes, msgs);
}
await open(Number(process.env.RATE ?? 1700), 8000);
console.log(env.lines.filter((l) => !l.includes('"level":"info"')).slice(-8).join('\n').slice(0, 3000));
await env.stop(); process.exit(0);
