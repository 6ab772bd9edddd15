/**
 * A bounded FIFO between a push-style producer (a child's stdout) and an async consumer. `push`
 * returns false once the queue is full so the producer can pause; `onDrain` fires when the consumer
 * has made room again. This is what keeps memory flat while a slow model works through a long film.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private ended = false;
  private failure: unknown;
  private waiter: (() => void) | undefined;
  onDrain: (() => void) | undefined;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  get full(): boolean {
    return this.items.length >= this.capacity;
  }

  push(item: T): boolean {
    this.items.push(item);
    this.wake();
    return !this.full;
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    this.wake();
  }

  /** The next item, or undefined once the producer has ended and the queue is empty. */
  async take(): Promise<T | undefined> {
    while (this.items.length === 0) {
      if (this.ended) {
        if (this.failure !== undefined) throw this.failure;
        return undefined;
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const wasFull = this.full;
    const item = this.items.shift() as T;
    if (wasFull && !this.full) this.onDrain?.();
    return item;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
