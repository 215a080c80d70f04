// The contract lives in the repository (docs/contract.md), its series table
// is the metrics code's own, and every link users follow in README.md and
// docs/ resolves inside the repository: files that exist, anchors that are
// headings there (GitHub's slugs, by github-slugger; links parsed by
// markdown-it, so code spans and blocks are not taken for links).
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import GithubSlugger from 'github-slugger';
import MarkdownIt from 'markdown-it';
import { describe, expect, it } from 'vitest';
import { Metrics, renderSeriesTable } from '../../src/metrics.ts';
import { config } from '../report/fixtures.ts';
import { tableRows } from '../support/markdown.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CONTRACT = join(ROOT, 'docs', 'contract.md');
const md = new MarkdownIt({ html: true });

function docs(): string[] {
  const inDocs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(ROOT, 'docs', f));
  return [join(ROOT, 'README.md'), ...inDocs];
}

/** Link targets and heading slugs of one Markdown file. */
function parse(file: string): { links: string[]; anchors: Set<string> } {
  const tokens = md.parse(readFileSync(file, 'utf8'), {});
  const links: string[] = [];
  const anchors = new Set<string>();
  const slugger = new GithubSlugger();
  tokens.forEach((t, i) => {
    if (t.type === 'heading_open') anchors.add(slugger.slug(String(tokens[i + 1]?.content ?? '')));
    for (const c of t.children ?? []) {
      if (c.type === 'link_open') links.push(String(c.attrGet('href') ?? ''));
      if (c.type === 'image') links.push(String(c.attrGet('src') ?? ''));
    }
  });
  return { links, anchors };
}

describe('docs/contract.md', () => {
  it('§5 shows the series table as rendered from src/metrics.ts (histograms on)', () => {
    const metrics = new Metrics(config({ S3_HEALTH_METRICS_HISTOGRAMS: 'true' }), 'test');
    const table = renderSeriesTable(metrics.catalog());
    const text = readFileSync(CONTRACT, 'utf8');
    const block = /<!-- series:begin -->\n([\s\S]*?)\n<!-- series:end -->/.exec(text)?.[1];
    if (process.env.UPDATE_DOCS === '1') {
      writeFileSync(CONTRACT, text.replace(block ?? '', table));
      return;
    }
    // UPDATE_DOCS=1 npx vitest run test/docs/contract.test.ts rewrites the block (then Biome pads it).
    expect(tableRows(block ?? '')).toEqual(tableRows(table));
    expect(metrics.catalog().length).toBeGreaterThanOrEqual(15);
  });
});

describe('links in README.md and docs/', () => {
  const files = docs();

  it('are relative links to files and headings inside the repository', () => {
    const problems: string[] = [];
    const parsed = new Map(files.map((f) => [f, parse(f)]));
    for (const [file, { links }] of parsed) {
      for (const href of links) {
        if (/^(https?:|mailto:)/.test(href)) continue;
        const [path = '', anchor] = href.split('#');
        const target = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
        const where = `${relative(ROOT, file)}: ${href}`;
        if (relative(ROOT, target).startsWith('..')) {
          problems.push(`${where} points outside the repository`);
          continue;
        }
        if (!existsSync(target)) {
          problems.push(`${where} names no file`);
          continue;
        }
        if (anchor === undefined || anchor === '') continue;
        if (!statSync(target).isFile() || !target.endsWith('.md')) {
          problems.push(`${where} has an anchor into a file that is not Markdown`);
          continue;
        }
        const anchors = parsed.get(target)?.anchors ?? parse(target).anchors;
        if (!anchors.has(anchor)) problems.push(`${where} names no heading there`);
      }
    }
    expect(problems).toEqual([]);
    expect([...parsed.values()].reduce((n, p) => n + p.links.length, 0)).toBeGreaterThan(10);
  });

  it('no text sends users to ../shared (a clone has no such folder)', () => {
    for (const f of files) {
      expect(readFileSync(f, 'utf8'), relative(ROOT, f)).not.toMatch(/\.\.\/shared\b/);
    }
  });
});
