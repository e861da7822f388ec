// Keeps a server stream open while the component is shown: reconnects (after a pause that grows to 10 s) when the
// stream ends or fails, and closes it when the component goes away.
import { useEffect, useState } from 'react';

export type StreamState = 'connecting' | 'live' | 'reconnecting';

export function useStream<T>(open: (signal: AbortSignal) => AsyncIterable<T>, onMessage: (message: T) => void, onConnect: () => void, deps: unknown[]): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  useEffect(() => {
    const abort = new AbortController();
    void (async () => {
      let pauseMs = 500;
      while (!abort.signal.aborted) {
        try {
          onConnect();
          for await (const message of open(abort.signal)) {
            setState('live');
            pauseMs = 500;
            onMessage(message);
          }
        } catch {
          // Ended by the server, the network or the abort below: reconnect unless we are leaving.
        }
        if (abort.signal.aborted) return;
        setState('reconnecting');
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
        pauseMs = Math.min(pauseMs * 2, 10_000);
      }
    })();
    return () => abort.abort();
  }, deps);
  return state;
}
