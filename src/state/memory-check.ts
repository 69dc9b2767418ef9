/**
 * The memory check before opening or compressing: the estimate (src/core/memory-estimate.ts)
 * against what this browser says about memory, or the test override `__studioDebug.memory`.
 */
import { judgeMemory, memoryLimit, type BrowserMemory, type MemoryAction, type MemoryEstimate, type MemoryVerdict } from '../core/memory-estimate';
import type { StudioDebug } from '../workers/kit/debug';

/** performance.memory (Chromium) and navigator.deviceMemory (Chromium, https), where they exist. */
export function browserMemory(): BrowserMemory {
  const override = (globalThis as { __studioDebug?: StudioDebug }).__studioDebug?.memory;
  if (override) return override;
  const heap = (globalThis.performance as { memory?: { jsHeapSizeLimit?: number } } | undefined)?.memory?.jsHeapSizeLimit;
  const device = (globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory;
  return { ...(heap !== undefined ? { jsHeapSizeLimit: heap } : {}), ...(device !== undefined ? { deviceMemoryGiB: device } : {}) };
}

export function checkMemory(action: MemoryAction, estimate: MemoryEstimate): MemoryVerdict {
  return judgeMemory(action, estimate, memoryLimit(browserMemory()));
}
