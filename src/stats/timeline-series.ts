// Owns a workflow timeline's series of request and failure counts per interval: growth by
// index, in-place halving when full (totals unchanged), and padding to a common length.

/** Request and failure counts per timeline interval. */
export interface Series {
  counts: number[];
  failures: number[];
}

export function addToSeries(series: Series, index: number, count: number, failed: number): void {
  while (series.counts.length <= index) {
    series.counts.push(0);
    series.failures.push(0);
  }
  series.counts[index]! += count;
  series.failures[index]! += failed;
}

/** Merges adjacent pairs in place: point i becomes points 2i + 2i+1. Totals are unchanged. */
export function downsample(series: Series): void {
  for (const arr of [series.counts, series.failures]) {
    const half = Math.ceil(arr.length / 2);
    for (let i = 0; i < half; i++) arr[i] = arr[2 * i]! + (arr[2 * i + 1] ?? 0);
    arr.length = half;
  }
}

export function padded(values: number[], length: number): number[] {
  const out = values.slice(0, length);
  while (out.length < length) out.push(0);
  return out;
}
