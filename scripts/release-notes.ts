// node scripts/release-notes.ts: the release notes of a signed, verified release, from
// catalog/index.json, dist/sign-record.json and the verify-catalog reports (release-flow.sh).
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCatalogIndex } from '../src/build/catalog-index.ts';
import { PUBLISHED_IDENTITY } from '../src/signing/published-identity.ts';
import { formatError } from '../src/step/run.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const index = await readCatalogIndex(join(repoRoot, 'catalog', 'index.json'));
  if (index === undefined) throw new Error('catalog/index.json is missing');
  const record = JSON.parse(await readFile(join(repoRoot, 'dist', 'sign-record.json'), 'utf8')) as { signer: string; source: { repository: string; commit: string } };
  const reports = (await readdir(join(repoRoot, 'dist'))).filter((name) => /^verify-catalog-.*\.json$/.test(name));
  const verified = await Promise.all(reports.map(async (name) => JSON.parse(await readFile(join(repoRoot, 'dist', name), 'utf8')) as { input: string; verified: boolean }));
  const lines = [
    `# Hardened Tekton catalog release`,
    '',
    `Built from ${record.source.repository} at \`${record.source.commit}\`, signed by ${record.signer}.`,
    '',
    '| Task | version | status | bundle |',
    '| --- | --- | --- | --- |',
  ];
  for (const [name, entry] of Object.entries(index.tasks)) {
    const version = entry.versions[entry.latest]!;
    lines.push(`| ${name} | ${entry.latest} | ${version.status} | \`${version.bundle.reference}\` |`);
  }
  lines.push('', 'Catalog bundles:', ...index.catalogBundles.map((bundle) => `- \`${bundle.reference}\` (${bundle.tasks.join(', ')})`));
  lines.push('', `verify-catalog passed for ${verified.filter((v) => v.verified).length} of ${verified.length} bundle(s) against the registry.`);
  lines.push(
    '',
    '## Verify before you apply',
    '',
    '```sh',
    `npm run catalog -- verify-catalog ${index.catalogBundles[0]?.reference ?? '<bundle>'}`,
    `cosign verify ${index.catalogBundles[0]?.reference ?? '<bundle>'} --certificate-identity ${PUBLISHED_IDENTITY.identity} --certificate-oidc-issuer ${PUBLISHED_IDENTITY.issuer}`,
    '```',
    '',
  );
  process.stdout.write(lines.join('\n'));
}

main().catch((error: unknown) => {
  const { text, code } = formatError('release-notes', error);
  process.stderr.write(`${text}\n`);
  process.exit(code);
});
