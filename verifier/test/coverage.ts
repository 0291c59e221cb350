// Which spec/vectors files have a test: every vector test registers its
// files here, and vectors.test.ts checks that no file is left out.
import { test } from 'node:test';

export const covered = new Set<string>();

export function vectorTest(files: string[], name: string, f: () => void): void {
  for (const x of files) covered.add(x);
  test(`${files.join(', ')}: ${name}`, f);
}
