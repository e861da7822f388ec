// A real SMTP server on loopback (smtp-server) for the email provider's tests. It records every message it accepts,
// parsed with mailparser, and can be told to misbehave: refuse recipients for good (550), fail them temporarily
// (451), refuse the login, or stop answering before or after the message data (to provoke timeouts).
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export type SmtpBehaviour =
  | 'accept'
  | 'reject-recipient'
  | 'fail-temporarily'
  /** Never answers RCPT TO: the message data is never sent. */
  | 'hang-before-data'
  /** Receives the whole message, then never answers the final ".": the client cannot know it was accepted. */
  | 'hang-after-data';

export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  parsed: ParsedMail;
  /** False when the server received the data but (hang-after-data) never acknowledged it. */
  acknowledged: boolean;
}

export interface SmtpStandIn {
  host: string;
  port: number;
  received: ReceivedMail[];
  /** TCP connections accepted so far. */
  connections(): number;
  behave(behaviour: SmtpBehaviour): void;
  close(): Promise<void>;
}

function smtpError(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

export async function startSmtpServer(options: { auth?: { user: string; pass: string } } = {}): Promise<SmtpStandIn> {
  const received: ReceivedMail[] = [];
  let behaviour: SmtpBehaviour = 'accept';
  let connections = 0;

  const server = new SMTPServer({
    logger: false,
    // Plain loopback: no STARTTLS, login allowed without TLS.
    disabledCommands: options.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    allowInsecureAuth: true,
    authOptional: !options.auth,
    closeTimeout: 100,
    onConnect(_session, done) {
      connections += 1;
      done();
    },
    onAuth(auth, _session, done) {
      if (auth.username === options.auth?.user && auth.password === options.auth?.pass) return done(null, { user: auth.username });
      return done(smtpError(535, 'Authentication credentials invalid'));
    },
    onRcptTo(_address, _session, done) {
      if (behaviour === 'reject-recipient') return done(smtpError(550, 'Mailbox unavailable'));
      if (behaviour === 'fail-temporarily') return done(smtpError(451, 'Try again later'));
      if (behaviour === 'hang-before-data') return; // never answered
      return done();
    },
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        simpleParser(Buffer.concat(chunks)).then(
          (parsed) => {
            const acknowledged = behaviour !== 'hang-after-data';
            const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
            received.push({ envelope: { from, to: session.envelope.rcptTo.map((r) => r.address) }, parsed, acknowledged });
            if (acknowledged) done();
          },
          (err: Error) => done(err),
        );
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  return {
    host: '127.0.0.1',
    port,
    received,
    connections: () => connections,
    behave(next) {
      behaviour = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
