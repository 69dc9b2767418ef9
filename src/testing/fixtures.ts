/**
 * The fixture table: small synthetic models built with the project's own factories, each with
 * the inputs to run it on, what it exercises, and (for many) outputs and stored weights computed
 * independently. src/onnx/fixtures.test.ts round-trips every entry and runs the runnable ones in
 * onnxruntime-node; other tests and e2e specs may pick entries by id.
 */
import type { Fixture } from './fixture-kit';
import { FIELD_FIXTURES } from './fixtures-fields';
import { GRAPH_FIXTURES } from './fixtures-graphs';
import { NET_FIXTURES } from './fixtures-nets';
import { STORAGE_FIXTURES } from './fixtures-storage';

export type { BuiltFixture, ExpectedOutput, Fixture, FixtureInput, InputType, WeightValues } from './fixture-kit';
export { IR_FOR_OPSET } from './fixture-kit';

export const FIXTURES: Fixture[] = [...NET_FIXTURES, ...GRAPH_FIXTURES, ...STORAGE_FIXTURES, ...FIELD_FIXTURES];

/** The fixture with this id; throws when there is none (a typo in a test). */
export function fixture(id: string): Fixture {
  const f = FIXTURES.find((x) => x.id === id);
  if (!f) throw new Error(`no fixture "${id}" (known: ${FIXTURES.map((x) => x.id).join(', ')})`);
  return f;
}
