// String interning for names held many times over (a cluster's name is a Map key in the ADS
// client, the store, the snapshot and the worker, and a field of its config and its endpoints):
// V8 internalizes property keys, so a name read back from an object key is the one shared,
// flat copy of that text in the process's string table, whatever string it was made from
// (a decoded copy, or a concatenation that would otherwise keep its parts alive).
export function internString(s: string): string {
  const o: Record<string, 0> = {};
  o[s] = 0;
  for (const k in o) return k;
  return s;
}
