/** Lists this short are sorted by insertion, which allocates nothing; longer ones by `Array.prototype.sort`. */
const insertionSortMax = 16;

/**
 * Sorts `list` in place and returns it. For the short lists sorted on ingestion's path, once per
 * event or per customer per batch (a customer's grants, an event's property names), insertion
 * needs no work array, where V8's sort makes one each call. Both sorts are stable: the result is
 * the built-in sort's.
 */
export function sortInPlace<T>(list: T[], compare: (a: T, b: T) => number): T[] {
  if (list.length > insertionSortMax) return list.sort(compare);
  for (let i = 1; i < list.length; i++) {
    const item = list[i]!;
    let j = i - 1;
    while (j >= 0 && compare(list[j]!, item) > 0) {
      list[j + 1] = list[j]!;
      j--;
    }
    list[j + 1] = item;
  }
  return list;
}
