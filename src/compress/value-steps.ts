/**
 * The second registry: the methods' steps over a weight's values before it is encoded, in the
 * order they run (compressModel's stageWeight) and the projection's order (projectWeight). The
 * first registry, methods.ts, lists the methods' settings and is shared with the page; this one
 * holds algorithm code and stays in the workers and the CLI, so the page never loads it.
 *
 * Adding a method that changes a weight's values: its folder's meta.ts (a line in methods.ts)
 * and its ValueStep (a line here); see docs/ARCHITECTURE.md, "Methods".
 */
import { magnitudeValueStep } from './prune/step';
import type { ValueStep } from './types';

export const VALUE_STEPS: readonly ValueStep[] = [magnitudeValueStep];
