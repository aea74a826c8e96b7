// Every generated Task README has one outline: a title, the generator's own
// `##` sections, and the Task's notes as `###` subsections of one `## Notes`
// section (notes are written with `##` headings; the generator nests them).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { nestHeadings } from '../../src/build/readme.ts';
import { repoRoot } from '../harness/shared.ts';

const GENERATOR_SECTIONS = ['Use it', 'Parameters', 'Workspaces', 'Results', 'Step images', 'Security', 'Notes', 'Samples', 'Test on a cluster'];

/** ATX headings outside fenced code blocks, as [level, text]. */
function headings(markdown: string): [number, string][] {
  const out: [number, string][] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker !== undefined) {
      if (fence === undefined) fence = marker;
      else if (marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      continue;
    }
    const heading = fence === undefined ? /^(#{1,6}) +(.*?)\s*#*\s*$/.exec(line) : null;
    if (heading) out.push([heading[1]!.length, heading[2]!]);
  }
  return out;
}

function outlineProblems(markdown: string): string[] {
  const list = headings(markdown);
  const problems: string[] = [];
  if (list[0]?.[0] !== 1) problems.push('the first heading is not the title (#)');
  if (list.filter(([level]) => level === 1).length !== 1) problems.push('not exactly one # title');
  list.forEach(([level, text], i) => {
    if (i > 0 && level > list[i - 1]![0] + 1) problems.push(`"${text}" skips a level`);
    if (level === 2 && !GENERATOR_SECTIONS.includes(text)) problems.push(`"## ${text}" is not a README section (a note heading that was not nested?)`);
  });
  if (list.filter(([level, text]) => level === 2 && text === 'Notes').length > 1) problems.push('more than one ## Notes');
  return problems;
}

t.test('every Task README has one title, the generator sections, and notes nested under ## Notes', async (t) => {
  const base = join(repoRoot, 'catalog', 'task');
  let readmes = 0;
  for (const task of readdirSync(base, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    for (const version of readdirSync(join(base, task.name), { withFileTypes: true }).filter((e) => e.isDirectory())) {
      const markdown = readFileSync(join(base, task.name, version.name, 'README.md'), 'utf8');
      t.same(outlineProblems(markdown), [], `${task.name} ${version.name} README outline`);
      readmes++;
    }
  }
  t.ok(readmes >= 6, `${readmes} READMEs checked`);
});

t.test('nestHeadings moves every heading down one level, except inside code fences', async (t) => {
  t.equal(nestHeadings('## Usage\ntext\n### Detail\n```sh\n# a shell comment\n## not a heading\n```\n~~~\n# also code\n~~~\n#### Deep'), '### Usage\ntext\n#### Detail\n```sh\n# a shell comment\n## not a heading\n```\n~~~\n# also code\n~~~\n##### Deep');
  t.equal(nestHeadings('#hashtag and ####### seven'), '#hashtag and ####### seven', 'not headings');
});

t.test('the outline check rejects the old layout', async (t) => {
  t.match(outlineProblems('# T\n\n## Security\n\n## Notes\n\n## Usage\n\nx\n'), ['"## Usage" is not a README section (a note heading that was not nested?)']);
  t.match(outlineProblems('# T\n\n## Notes\n\n#### Usage\n'), ['"Usage" skips a level']);
  t.match(outlineProblems('## Notes\n# T\n'), ['the first heading is not the title (#)']);
  t.same(outlineProblems('# T\n\n## Notes\n\n### Usage\n\n```yaml\n# comment\n```\n'), []);
});
