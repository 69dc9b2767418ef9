/** What a clean-up pass returns. */
export interface PassResult {
  count: number;
  summary: string;
  details: string[];
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
