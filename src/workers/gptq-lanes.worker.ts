/**
 * A GPTQ helper thread of the compress worker (recovery/gptq-simd.ts GptqPool): given the shared
 * memory once, it takes the lanes of every layer's rows until the compress worker ends.
 */
import { serveGptqLanes } from '../compress/recovery/gptq-simd';

self.onmessage = (e: MessageEvent<{ memory: WebAssembly.Memory }>) => serveGptqLanes(e.data.memory);
