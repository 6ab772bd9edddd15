import { describe, expect, it } from 'vitest';
import { mergeLive, pruneLive, tick, type Stamped } from '../../src/renderer/src/state/live-list';

interface Item {
  id: number;
  state: string;
}

describe('a live list: snapshot overlaid with events', () => {
  it('keeps an event newer than a snapshot that answered after it', () => {
    const live = new Map<number, Stamped<Item>>();
    const snapAt = tick(); // the snapshot is requested...
    live.set(1, { value: { id: 1, state: 'finished' }, at: tick() }); // ...the event comes...
    // ...and the snapshot, taken on the server before the batch finished, answers last.
    const merged = mergeLive([{ id: 1, state: 'running' }], snapAt, live);
    expect(merged.get(1)).toEqual({ id: 1, state: 'finished' });
  });

  it('lets a snapshot requested after an event win, and drop items it no longer has', () => {
    const live = new Map<number, Stamped<Item>>([
      [1, { value: { id: 1, state: 'running' }, at: tick() }],
      [2, { value: { id: 2, state: 'done' }, at: tick() }],
    ]);
    const snapAt = tick();
    // Item 2 was cleared on the server; item 1 moved on.
    const merged = mergeLive([{ id: 1, state: 'done' }], snapAt, live);
    expect([...merged.values()]).toEqual([{ id: 1, state: 'done' }]);
    expect(pruneLive(live, snapAt).size).toBe(0);
  });

  it('shows items only events have told about, before any snapshot', () => {
    const live = new Map<number, Stamped<Item>>([[7, { value: { id: 7, state: 'queued' }, at: tick() }]]);
    expect([...mergeLive(undefined, 0, live).keys()]).toEqual([7]);
  });
});
