// Multi-version bookkeeping of the embedded store, as pure data: every commit has a sequence number; a transaction
// reads as of the number current when it took its snapshot. A collection holds the current version of each
// document, and, only while some running transaction's snapshot predates a change, the versions it replaced.

/** A document as one commit left it (undefined: it did not exist), made current by commit `seq`. */
export interface Version<T> {
  seq: number;
  doc: T | undefined;
}

/**
 * The change record of one document changed after the oldest running snapshot: `seq` is the commit that made its
 * current version, `before` the versions it replaced, oldest first (the first has seq 0 when older than every
 * snapshot).
 */
export interface History<T> {
  seq: number;
  before: Version<T>[];
}

/** The version of a document a snapshot sees, given its current version and its change record (if any). */
export function versionAt<T>(current: T | undefined, history: History<T> | undefined, snapshot: number): T | undefined {
  if (!history || history.seq <= snapshot) return current;
  for (let i = history.before.length - 1; i >= 0; i--) {
    if (history.before[i].seq <= snapshot) return history.before[i].doc;
  }
  return undefined;
}

/** Records that commit seq replaced previous (the current version until now) in history (created when missing). */
export function recordChange<T>(history: History<T> | undefined, previous: T | undefined, seq: number): History<T> {
  if (!history) return { seq, before: [{ seq: 0, doc: previous }] };
  history.before.push({ seq: history.seq, doc: previous });
  history.seq = seq;
  return history;
}

/**
 * Drops the versions no snapshot at or after `oldest` can see. Returns false when no snapshot needs the record any
 * more (its current version is visible to all of them, and no running transaction can conflict with its change).
 */
export function pruneHistory<T>(history: History<T>, oldest: number): boolean {
  if (history.seq <= oldest) return false;
  for (let i = history.before.length - 1; i > 0; i--) {
    if (history.before[i].seq <= oldest) {
      history.before.splice(0, i);
      break;
    }
  }
  return true;
}

/**
 * The snapshots running transactions read at, oldest first. A snapshot is always the newest commit number, so
 * insertion order of the map is ascending order and the oldest is its first key.
 */
export class Snapshots {
  private readonly open = new Map<number, number>();

  take(seq: number): void {
    this.open.set(seq, (this.open.get(seq) ?? 0) + 1);
  }

  release(seq: number): void {
    const count = this.open.get(seq) ?? 0;
    if (count <= 1) this.open.delete(seq);
    else this.open.set(seq, count - 1);
  }

  /** Whether any running transaction reads a snapshot (then every commit must keep what it replaces). */
  get any(): boolean {
    return this.open.size > 0;
  }

  /** The oldest snapshot a running transaction reads, or undefined when none does. */
  get oldest(): number | undefined {
    return this.open.keys().next().value;
  }
}
