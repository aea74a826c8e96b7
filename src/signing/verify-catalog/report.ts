import { quoteUntrusted } from '../../errors.ts';
import type { ArtefactCheck, CatalogVerification } from './catalog-verifier.ts';

/**
 * The summary a person reads: one verdict line, then one line per artefact
 * (the bundle, then each step image) with what passed or the reason code.
 * Values that came from the registry are escaped.
 */
export function renderCatalogSummary(result: CatalogVerification): string {
  const lines: string[] = [];
  const bundle = result.checks[0];
  const tasks = result.bundle ? ` (${result.bundle.tasks.length} Task${result.bundle.tasks.length === 1 ? '' : 's'}: ${result.bundle.tasks.map((t) => quoteUntrusted(t, 63).slice(1, -1)).join(', ')})` : '';
  lines.push(
    result.verified
      ? `VERIFIED ${bundle?.reference ?? quoteUntrusted(result.input, 200)}${tasks}`
      : `REJECTED ${quoteUntrusted(result.input, 200)}: [${result.code ?? 'VERIFICATION_FAILED'}] ${result.checks.filter((c) => !c.ok).length} problem(s)`,
  );
  if (result.commits.length > 0) lines.push(`  source commit: ${result.commits.join(', ')}`);
  for (const check of result.checks) lines.push(`  ${renderCheck(check)}`);
  const images = result.checks.filter((check) => check.kind === 'step-image');
  lines.push(`  ${images.filter((check) => check.ok).length} of ${images.length} step image(s) verified`);
  return `${lines.join('\n')}\n`;
}

function renderCheck(check: ArtefactCheck): string {
  const what = check.kind === 'bundle' ? 'bundle' : 'step image';
  if (check.ok) {
    const provenance = check.provenance?.[0];
    const from = provenance ? `; provenance ${provenance.repository}@${provenance.commit}${provenance.builderId ? ` built by ${quoteUntrusted(provenance.builderId, 200)}` : ''}` : '';
    return `ok   ${what} ${check.reference}: signed by ${check.signer ?? 'unknown'}${from}`;
  }
  const cause = check.cause !== undefined ? `/${check.cause}` : '';
  const used = check.usedBy?.length ? ` (used by ${check.usedBy.slice(0, 3).join(', ')}${check.usedBy.length > 3 ? ', …' : ''})` : '';
  return `FAIL ${what} ${quoteUntrusted(check.reference, 200)}${used}: [${check.code ?? 'VERIFICATION_FAILED'}${cause}] ${check.message ?? ''}`;
}
