/** WebAssembly text to bytes with wabt (dev only). */
import wabtInit from 'wabt';

export async function assembleWat(text: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat('kernel.wat', text, { simd: true });
  try {
    mod.validate();
    return new Uint8Array(mod.toBinary({ log: false, write_debug_names: false }).buffer);
  } finally {
    mod.destroy();
  }
}
