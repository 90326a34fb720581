/** V8's sampling heap profile, summed by function: what `alloc-profile.ts` and `young-survivors.ts` print. */

interface SampledNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SampledNode[];
}

export interface BytesByFunction {
  /** By the function that allocated. */
  self: Map<string, number>;
  /** By every function on the stack, recursion counted once. */
  inclusive: Map<string, number>;
  total: number;
}

/** Sums a profile's sampled bytes by function (`name path`, the path from `src/` or `node_modules/`). */
export function bytesByFunction(head: unknown): BytesByFunction {
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const nameOf = (n: SampledNode): string => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/.*\/(src|node_modules)\//, '$1/')}`;
  let total = 0;
  // Iterative, with each node's distinct functions on the stack (recursion counted once).
  const stack: { node: SampledNode; above: readonly string[] }[] = [{ node: head as SampledNode, above: [] }];
  while (stack.length > 0) {
    const { node, above } = stack.pop()!;
    const name = nameOf(node);
    self.set(name, (self.get(name) ?? 0) + node.selfSize);
    total += node.selfSize;
    const onStack = above.includes(name) ? above : [...above, name];
    for (const f of onStack) inclusive.set(f, (inclusive.get(f) ?? 0) + node.selfSize);
    for (const child of node.children) stack.push({ node: child, above: onStack });
  }
  return { self, inclusive, total };
}

/** Prints the `top` largest of each, in bytes per event. */
export function printBytesByFunction(sums: BytesByFunction, events: number, top: number, selfHeading: string, inclusiveHeading: string): void {
  const perEvent = (bytes: number): string => (bytes / events).toFixed(0).padStart(7);
  console.log(selfHeading);
  for (const [name, bytes] of [...sums.self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perEvent(bytes)}  ${name}`);
  console.log(inclusiveHeading);
  for (const [name, bytes] of [...sums.inclusive].filter(([n]) => n.includes(' src/')).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${perEvent(bytes)}  ${name}`);
}
