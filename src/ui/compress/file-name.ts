/**
 * Names for a compressed file: `<model>.<recipe-summary>.onnx`, e.g.
 * `digits-cnn.int8-per-channel.portable.onnx`. The summary says what the defaults do, and how many
 * layers the recipe sets on their own; it keeps to characters safe in any file system.
 */
import type { PartialLayerSettings, Recipe } from '../../compress/recipe';

function settingsSummary(s: PartialLayerSettings): string {
  const parts: string[] = [];
  const weights = s.weights ?? 'fp32';
  parts.push(weights);
  if (weights === 'int8' || weights === 'int4') {
    const g = s.granularity ?? 'per-channel';
    parts.push(g === 'block' ? `block${s.blockSize ?? 32}` : g);
    if (s.symmetric === false) parts.push('asym');
  }
  if (s.prune && s.prune > 0) parts.push(`${s.pruneMethod === 'channel' ? 'chprune' : 'prune'}${Math.round(s.prune * 100)}`);
  if (s.activations === 'int8') parts.push('act-int8');
  const recovery = (s as { recovery?: unknown }).recovery;
  if (recovery === 'gptq' || recovery === 'bias' || recovery === 'sequential') parts.push(recovery);
  // the other keys that change the weights written
  const extra = s as { actOrder?: unknown; orderSearch?: unknown; equalize?: unknown; clipSearch?: unknown };
  const gptq = recovery === 'gptq' || recovery === 'sequential';
  if (extra.orderSearch === true && gptq) parts.push('bothorders');
  else if (extra.actOrder === true && gptq) parts.push('actorder');
  if (extra.equalize === true) parts.push('equalized');
  if (extra.clipSearch === true) parts.push('clipped');
  return parts.join('-');
}

/** A short, file-name-safe description of a recipe, e.g. `int8-per-channel.portable` or `int4-block32.webgpu.3-layers`. */
export function recipeSummary(recipe: Recipe): string {
  const n = Object.keys(recipe.layers).length;
  const parts = [settingsSummary(recipe.defaults), recipe.target];
  if (n > 0) parts.push(`${n}-layer${n === 1 ? '' : 's'}`);
  return parts.join('.');
}

/** `<model>.<recipe-summary>.onnx`, from the original file name (its folder and extension dropped). */
export function downloadName(modelFileName: string, recipe: Recipe): string {
  const base = modelFileName.replace(/\\/g, '/').split('/').pop() ?? '';
  const stem = base.replace(/\.onnx$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'model';
  return `${stem}.${recipeSummary(recipe)}.onnx`;
}
