// Summarises a .cpuprofile (node --cpu-prof): self time by function, top N. Not part of npm test.
//   node dist/bench/profile/top.js FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, n = '40'] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: top.js FILE.cpuprofile [N]');
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((node) => [node.id, node]));
const self = new Map<number, number>();
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i] ?? 0;
  self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}
let total = 0;
for (const us of self.values()) total += us;
const byFn = new Map<string, number>();
for (const [id, us] of self) {
  const cf = byId.get(id)?.callFrame;
  if (cf === undefined) continue;
  const where = cf.url.replace(/^.*\/(dist|node_modules)\//, '');
  const key = `${cf.functionName || '(anon)'} ${where}:${cf.lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
}
console.log(`total ${(total / 1e6).toFixed(2)} s`);
const top = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, Number(n));
for (const [key, us] of top) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
