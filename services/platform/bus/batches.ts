// Group commit for a consumer: the messages a bus hands over one by one are gathered into batches, handled one
// batch at a time. A batch takes what arrived by the next turn of the event loop (a broker hands over what one
// socket read brought in a single turn), and whatever arrives while a batch runs waits for the next one, so batches
// grow with the load on their own and nothing waits for a timer. Each item still settles on its own.

export type Settled<R> = PromiseSettledResult<R>;

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (reason: unknown) => void;
}

export class Batches<T, R> {
  private waiting: Array<Waiting<T, R>> = [];
  private running = false;
  private scheduled = false;

  /** run settles every item of a batch, in order; maxSize bounds a batch (a consumer's prefetch bounds it anyway). */
  constructor(
    private readonly maxSize: number,
    private readonly run: (items: T[]) => Promise<Array<Settled<R>>>,
  ) {}

  /** Resolves or rejects as the item's part of its batch did. */
  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.next();
    });
  }

  private async next(): Promise<void> {
    if (this.running || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, this.maxSize);
    this.running = true;
    try {
      const outcomes = await this.run(batch.map((waiting) => waiting.item));
      batch.forEach((waiting, i) => {
        const outcome = outcomes[i];
        if (outcome?.status === 'fulfilled') waiting.resolve(outcome.value);
        else waiting.reject(outcome ? outcome.reason : new Error('the batch settled no outcome for this item'));
      });
    } catch (err) {
      for (const waiting of batch) waiting.reject(err);
    } finally {
      this.running = false;
      if (this.waiting.length > 0) this.schedule();
    }
  }
}
