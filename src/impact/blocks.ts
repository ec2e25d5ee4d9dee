import { createHash } from 'node:crypto';
import { lineRanges } from '../coverage/gates.js';

/**
 * A file's code as blocks, pytest-testmon's way: each function (from the coverage map's
 * function list, in the TypeScript source's lines) and the module's top level. A line belongs
 * to the innermost function that spans it; a block's fingerprint hashes only its own lines,
 * so a change inside a route handler changes the handler, not the function that registers it.
 */
export interface Block {
  name: string;
  start: number;
  end: number;
  /** Hash of the block's own lines (those whose innermost block it is), whitespace-trimmed. */
  hash: string;
}

export interface FileBlocks {
  /** Hash of the whole file as it was recorded. */
  hash: string;
  /** Hash of the top level's own lines: what runs when the module loads. */
  top: string;
  blocks: Block[];
}

export const TOP = -1;

export const hashText = (text: string) => createHash('sha1').update(text).digest('hex').slice(0, 16);

/** The index of the innermost block spanning `line`, or TOP. */
export function innermost(blocks: Pick<Block, 'start' | 'end'>[], line: number): number {
  let best = TOP;
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i] as Block;
    if (b.start > line || b.end < line) continue;
    const current = blocks[best];
    if (!current || b.end - b.start < current.end - current.start) best = i;
  }
  return best;
}

/** Each block's own lines hashed, and the top level's, from the file's text and its function spans. */
export function fingerprint(text: string, spans: { name: string; start: number; end: number }[]): FileBlocks {
  const lines = text.split('\n');
  const own = new Map<number, string[]>([[TOP, []], ...spans.map((_, i): [number, string[]] => [i, []])]);
  lines.forEach((line, i) => {
    own.get(innermost(spans, i + 1))?.push(line.trim());
  });
  const hashOf = (i: number) => hashText((own.get(i) ?? []).join('\n'));
  return {
    hash: hashText(text),
    top: hashOf(TOP),
    blocks: spans.map((s, i) => ({ ...s, hash: hashOf(i) })),
  };
}

/** The blocks whose own lines differ between the recorded fingerprint and `text` now (positions as recorded). */
export function changedBlocks(recorded: FileBlocks, text: string): Set<number> {
  const now = fingerprint(text, recorded.blocks);
  const changed = new Set<number>();
  if (now.top !== recorded.top) changed.add(TOP);
  recorded.blocks.forEach((b, i) => {
    if (now.blocks[i]?.hash !== b.hash) changed.add(i);
  });
  return changed;
}

/** "1-5,7" from [1,2,3,4,5,7]: the map keeps line sets short. */
export const toRanges = (lines: number[]) =>
  lineRanges([...new Set(lines)].sort((a, b) => a - b)).replaceAll(' ', '');

export function fromRanges(ranges: string): number[] {
  if (!ranges) return [];
  return ranges.split(',').flatMap((r) => {
    const [a, b] = r.split('-').map(Number) as [number, number | undefined];
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}
