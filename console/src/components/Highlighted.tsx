// A message's text with the words that triggered each signal marked. Everything is rendered as text nodes: a
// message is shown exactly as the customer wrote it, markup included, and never interpreted.
import type { ReactNode } from 'react';
import { EscalationSignalSchema, type SignalEvidence } from '../../../gen/pulse/common/v1/conversation_pb.js';
import { enumLabel } from '../format';

export function Highlighted({ text, evidence }: { text: string; evidence: SignalEvidence[] }) {
  const spans = evidence
    .filter((e) => e.end > e.start && e.start >= 0 && e.end <= text.length)
    .sort((a, b) => a.start - b.start);
  const parts: ReactNode[] = [];
  let at = 0;
  for (const e of spans) {
    if (e.start < at) continue; // overlapping evidence: the first one marks the words
    parts.push(text.slice(at, e.start));
    const signal = enumLabel(EscalationSignalSchema, e.signal);
    parts.push(
      <mark key={`${e.start}-${e.signal}`} title={signal}>
        {text.slice(e.start, e.end)}
        <span className="visually-hidden"> ({signal})</span>
      </mark>,
    );
    at = e.end;
  }
  parts.push(text.slice(at));
  return <p className="message-text">{parts}</p>;
}
