import type { Row } from '../bench-web-speed';

export async function modelCases(): Promise<Row[]> {
  return [];
}
