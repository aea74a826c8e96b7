import t from 'tap';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PUBLISHED_IDENTITY } from '../../src/signing/published-identity.ts';
import { repoRoot } from '../harness/shared.ts';

/**
 * The published identity is a promise about a workflow file: Fulcio writes
 * https://github.com/<repo>/<workflow path>@<ref> into the certificate. If
 * the file moved, or ran from another ref, every consumer's pin would break
 * (or, worse, be loosened to make it pass).
 */
t.test('the release workflow is the one the published identity names, and can only sign as it', async (t) => {
  const match = /^https:\/\/github\.com\/([^/]+\/[^/]+)\/(\.github\/workflows\/[^@]+)@(refs\/heads\/[^/]+)$/.exec(PUBLISHED_IDENTITY.identity);
  t.ok(match, 'the identity is a GitHub workflow identity');
  const [, repository, path, ref] = match!;
  t.equal(PUBLISHED_IDENTITY.sourceRepository, `https://github.com/${repository}`, 'provenance names the same repository');
  t.ok(existsSync(join(repoRoot, path!)), `${path} exists`);
  const workflow = parse(await readFile(join(repoRoot, path!), 'utf8')) as {
    on: Record<string, unknown>;
    permissions: Record<string, string>;
    jobs: Record<string, { if?: string; permissions: Record<string, string>; steps: { uses?: string; run?: string }[] }>;
  };
  t.same(Object.keys(workflow.on), ['workflow_dispatch'], 'started by hand only: no pull request can sign');
  t.same(workflow.permissions, {}, 'no default permissions');
  const job = Object.values(workflow.jobs)[0]!;
  t.equal(job.if, `github.ref == '${ref}'`, `runs only from ${ref}, the ref in the identity`);
  t.equal(job.permissions['id-token'], 'write', 'may ask for the OIDC token keyless signing needs');
  for (const step of job.steps) if (step.uses) t.match(step.uses, /@[0-9a-f]{40}$/, `${step.uses.split('@')[0]} is pinned by commit`);
  t.ok(job.steps.some((step) => step.run?.includes('scripts/release-flow.sh')), 'runs the scripted release flow');
  const script = await readFile(join(repoRoot, 'scripts/release-flow.sh'), 'utf8');
  const order = ['build -- --registry', 'npm test', 'publish --', 'catalog -- sign', 'catalog -- verify-catalog', 'release-notes.ts'].map((step) => script.indexOf(step));
  t.ok(order.every((at) => at > 0), 'the script builds, tests, publishes, signs, verifies and writes notes');
  t.same(order, [...order].sort((a, b) => a - b), 'in that order');
});
