// The one way tests capture an error to look at it. (A single check on it can as well be
// `await expect(call).rejects.toMatchObject({ code })`.)
import { Code, ConnectError } from '@connectrpc/connect';
import { expect } from 'vitest';

type ErrorClass<E> = abstract new (...args: never[]) => E;
type Attempt = Promise<unknown> | (() => unknown);

/**
 * What the attempt fails with — a promise's rejection, or what a function throws or its promise rejects with —
 * checked to be a `type` (a ConnectError unless told). Fails the test if the attempt succeeds.
 */
export async function rejectionOf(attempt: Attempt): Promise<ConnectError>;
export async function rejectionOf<E>(attempt: Attempt, type: ErrorClass<E>): Promise<E>;
export async function rejectionOf(attempt: Attempt, type: ErrorClass<unknown> = ConnectError): Promise<unknown> {
  try {
    await (typeof attempt === 'function' ? attempt() : attempt);
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err;
  }
  return expect.fail('expected it to fail, but it succeeded');
}

/** The code and message a call fails with, as "Code: message": one string to compare or match. */
export async function failureOf(attempt: Attempt): Promise<string> {
  const err = await rejectionOf(attempt);
  return `${Code[err.code]}: ${err.rawMessage}`;
}
