// The impact map's fingerprints (src/impact/blocks.ts): what counts as a change to a block when
// no history can say which lines changed.
import t from 'tap';
import { changedBlocks, fingerprint, fromRanges, innermost, TOP, toRanges } from '../src/impact/blocks.js';

const source = [
  "import http from 'node:http';", // 1
  'const limit = 16;', // 2
  'function register(app) {', // 3
  "  app.get('/a', function a() {", // 4
  "    return 'a';", // 5
  '  });', // 6
  '  app.ready();', // 7
  '}', // 8
].join('\n');
const spans = [
  { name: 'register', start: 3, end: 8 },
  { name: 'a', start: 4, end: 6 },
];

t.test(
  'a line belongs to the innermost function spanning it; outside every function, to the top level',
  async (t) => {
    t.equal(innermost(spans, 5), 1, 'the handler');
    t.equal(innermost(spans, 7), 0, 'the function that registers it');
    t.equal(innermost(spans, 2), TOP);
  },
);

t.test("a change inside a handler changes the handler's fingerprint, not its parent's", async (t) => {
  const recorded = fingerprint(source, spans);
  t.same([...changedBlocks(recorded, source)], [], 'the same text: nothing changed');
  t.same([...changedBlocks(recorded, source.replace("'a'", "'b'"))], [1]);
  t.same([...changedBlocks(recorded, source.replace('app.ready()', 'app.ready(1)'))], [0]);
  t.same([...changedBlocks(recorded, source.replace('16', '17'))], [TOP], 'the top level');
  t.same(
    [...changedBlocks(recorded, source.replace("    return 'a';", "      return 'a';"))],
    [],
    'indentation is no change',
  );
});

t.test('line sets are kept as ranges and read back the same', async (t) => {
  t.equal(toRanges([7, 1, 2, 3, 3, 9, 8]), '1-3,7-9');
  t.same(fromRanges('1-3,7-9'), [1, 2, 3, 7, 8, 9]);
  t.same(fromRanges(''), []);
});
