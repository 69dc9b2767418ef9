/** WebAssembly text to bytes with wabt (dev only). */
import wabtInit from 'wabt';

export async function assembleWat(text: string, options: { validate?: boolean } = {}): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat('kernel.wat', text, { simd: true, threads: true });
  try {
    // (wabt's validator refuses shared memories whatever the features: the shared variant is the
    // validated text with its memory line changed, and the engine validates it when it compiles)
    if (options.validate !== false) mod.validate();
    return new Uint8Array(mod.toBinary({ log: false, write_debug_names: false }).buffer);
  } finally {
    mod.destroy();
  }
}

/**
 * The same module with its memory imported and shared (env.memory, up to 4 GiB): the build the
 * GPTQ threads run on one memory (src/compress/recovery/gptq-simd.ts).
 */
export function sharedMemoryVariant(text: string): string {
  const own = '(memory (export "memory") 1)';
  if (!text.includes(own)) throw new Error('sharedMemoryVariant: the module does not declare its memory as expected');
  return text.replace(own, '(import "env" "memory" (memory 1 65536 shared))');
}
