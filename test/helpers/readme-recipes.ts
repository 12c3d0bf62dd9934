// The README's tested code blocks ("Connect your app"): found by their `<!-- tested: NAME -->` marker and run as
// written, with only the origins and ports swapped for the ones a test picked.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root: recipes are written below it so that their bare imports resolve to its node_modules. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The text of one `## title` section of README.md, up to the next `## ` heading. */
export function readmeSection(title: string): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README.md has no section "## ${title}"`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/**
 * The fenced code blocks right after a `<!-- tested: NAME -->` comment (invisible on GitHub), by NAME, with the
 * indentation of the fence removed (blocks inside a list item are indented).
 */
export function testedBlocks(section: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const pattern = /<!-- tested: ([^>]+?) -->\n([ \t]*)```[\w-]*\n([\s\S]*?)\n\2```/g;
  for (const [, name = '', indent = '', body = ''] of section.matchAll(pattern)) {
    if (blocks.has(name)) throw new Error(`two README blocks are marked "tested: ${name}"`);
    const lines = body
      .split('\n')
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line));
    blocks.set(name, lines.join('\n'));
  }
  return blocks;
}

/** Replaces every occurrence of each `from`; a `from` that does not occur means the README changed: fail loudly. */
export function substitute(text: string, replacements: readonly (readonly [string, string])[]): string {
  let out = text;
  for (const [from, to] of replacements) {
    if (!out.includes(from)) throw new Error(`the recipe no longer contains ${JSON.stringify(from)}`);
    out = out.replaceAll(from, to);
  }
  return out;
}

/** Free loopback ports, found by binding port 0 (each is released before it is returned). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports = await Promise.all(
    servers.map(
      (s) =>
        new Promise<number>((resolve, reject) => {
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => {
            const address = s.address();
            resolve(typeof address === 'object' && address !== null ? address.port : 0);
          });
        }),
    ),
  );
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** A folder for recipe modules under the repository's ignored `.tmp/`; remove it with `removeRecipes`. */
export function recipeFolder(): string {
  mkdirSync(join(repoRoot, '.tmp'), { recursive: true });
  return mkdtempSync(join(repoRoot, '.tmp', 'recipes-'));
}

/** Writes a recipe as an ES module in `folder` and imports it (its top-level code runs: it starts listening). */
export async function importRecipe(
  folder: string,
  name: string,
  code: string,
): Promise<Record<string, unknown>> {
  const file = join(folder, `${name.replace(/[^a-z0-9-]+/gi, '-')}.mjs`);
  writeFileSync(file, code);
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

export function removeRecipes(folder: string): void {
  rmSync(folder, { recursive: true, force: true });
}
