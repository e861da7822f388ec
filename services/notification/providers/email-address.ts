// What we accept as an email recipient: one bare address, checked before any network call so a malformed one fails
// permanently without touching the SMTP server. Display names, lists and comments are refused on purpose: a
// contact like "a@x.com, b@y.com" must not quietly become two recipients.
const LOCAL = String.raw`[^\s@<>()\[\]\\,;:"]+`;
const LABEL = String.raw`[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?`;
const ADDRESS = new RegExp(`^${LOCAL}@${LABEL}(?:\\.${LABEL})+$`, 'u');

export function isEmailAddress(value: string): boolean {
  return value.length <= 254 && ADDRESS.test(value);
}

/** The address inside a sender such as "Pulse <pulse@example.com>", or the value itself when it is bare. */
export function senderAddress(value: string): string | undefined {
  const named = /^[^<>]*<([^<>]+)>$/.exec(value.trim());
  const address = named ? named[1] : value.trim();
  return isEmailAddress(address) ? address : undefined;
}
