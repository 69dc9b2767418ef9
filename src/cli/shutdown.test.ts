/** The CLI's shutdown (shutdown.ts): every registered stop runs once, the last registered first, past one that fails. */
import { describe, expect, it } from 'vitest';
import { onShutdown, shutdown } from './shutdown';

describe('shutdown', () => {
  it('runs each stop once, the last registered first, past one that fails', async () => {
    const order: string[] = [];
    onShutdown(async () => order.push('threads'));
    onShutdown(async () => {
      order.push('native');
      throw new Error('no answer');
    });
    onShutdown(async () => order.push('sessions'));
    await shutdown();
    expect(order).toEqual(['sessions', 'native', 'threads']);
    await shutdown();
    expect(order).toHaveLength(3);
  });
});
