// What the embedded stores of this process hold, by database, for the `pulse_store_documents` gauge: with
// everything in memory, documents held is what resident memory follows, and the gauge tells data kept on purpose
// from a leak. MongoDB-backed services have no entry (their documents are in the database).
const inventories = new Map<string, () => Record<string, number>>();

export function registerInventory(database: string, count: () => Record<string, number>): void {
  inventories.set(database, count);
}

export function unregisterInventory(database: string, count: () => Record<string, number>): void {
  if (inventories.get(database) === count) inventories.delete(database);
}

/** Documents per collection of the database, or undefined when no embedded store of it lives in this process. */
export function documentCounts(database: string): Record<string, number> | undefined {
  return inventories.get(database)?.();
}
