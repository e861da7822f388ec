// Keyset paging, the one way a list RPC pages: each page continues after the sort-key values of the last item
// returned, so documents created or removed while a caller pages never make another one repeat or be skipped
// (offsets would). The token that carries the position is bound to the request's filters (page-token.ts).
import { decodePageToken, encodePageToken, foreignPageToken } from '../page-token.js';
import type { Collection, Doc, Filter, SortSpec } from './collection.js';
import { getPath } from './query.js';

export { decodePageToken, encodePageToken } from '../page-token.js';

export interface PageRequest {
  /** The query's own conditions. */
  filter: Filter;
  /** Keyset order; must end with _id (unique tie-break), e.g. { failedAt: 1, _id: 1 }. Sort keys must not be null. */
  sort: SortSpec;
  /** Already validated/clamped by the caller. */
  pageSize: number;
  /** '' for the first page. */
  pageToken: string;
  /** What the token is bound to: the request's filters (not page size/token). */
  binding: unknown;
}

/**
 * The condition "after position in sort order": for sort (a, b, _id) and position (x, y, z),
 * a beyond x, or a = x and b beyond y, or a = x, b = y and _id beyond z — "beyond" per each key's direction.
 */
export function afterPosition(sort: SortSpec, position: readonly unknown[]): Filter {
  const keys = Object.entries(sort);
  return {
    $or: keys.map(([path, direction], i) => {
      const branch: Filter = {};
      for (let j = 0; j < i; j++) branch[keys[j][0]] = position[j];
      branch[path] = direction === 1 ? { $gt: position[i] } : { $lt: position[i] };
      return branch;
    }),
  };
}

/** The sort-key values of doc, in sort order: what a token carries. */
export function positionOf(sort: SortSpec, doc: Doc): unknown[] {
  return Object.keys(sort).map((path) => getPath(doc, path));
}

/**
 * One page and the token of the next ('' at the end). A token that is not one of ours, or was issued for other
 * filters (binding differs), is ConnectError invalid_argument naming `page_token`.
 */
export async function keysetPage<T extends Doc>(
  collection: Collection<T>,
  request: PageRequest,
): Promise<{ items: T[]; nextPageToken: string }> {
  const keys = Object.keys(request.sort);
  if (keys[keys.length - 1] !== '_id') throw new Error(`keyset sort on ${collection.name} must end with _id`);
  let filter = request.filter;
  if (request.pageToken !== '') {
    const position = decodePageToken(request.pageToken, request.binding);
    // A position of another length cannot have come from this list's sort.
    if (position.length !== keys.length) throw foreignPageToken();
    filter = { $and: [request.filter, afterPosition(request.sort, position)] };
  }
  // One more than a page tells whether another page follows without a second query.
  const found = await collection.find(filter, { sort: request.sort, limit: request.pageSize + 1 });
  const items = found.slice(0, request.pageSize);
  const more = found.length > request.pageSize;
  return { items, nextPageToken: more ? encodePageToken(request.binding, positionOf(request.sort, items[items.length - 1])) : '' };
}
