import { join } from 'node:path';
import { auditDocuments, TaskCatalog, type AuditorOptions, type AuditReport } from '../../src/audit/index.ts';
import { loadTaskDefinitions } from '../../src/build/load-definitions.ts';
import { repoRoot } from '../harness/shared.ts';

let catalog: Promise<TaskCatalog> | undefined;

/** The committed catalog (index.json and Task YAML) with the definitions' param rules. */
export function repoCatalog(): Promise<TaskCatalog> {
  catalog ??= TaskCatalog.fromDirectory(join(repoRoot, 'catalog'), []).then(async (c) => {
    c.attachDefinitions(await loadTaskDefinitions(join(repoRoot, 'tasks')));
    return c;
  });
  return catalog;
}

/** Audits YAML text as one file. */
export async function auditYaml(text: string, options: AuditorOptions = {}, name = 'fixture.yaml'): Promise<AuditReport> {
  return auditDocuments([{ name, text }], { catalog: await repoCatalog(), ...options });
}

export function ids(report: AuditReport): string[] {
  return report.findings.filter((f) => !f.suppression).map((f) => f.ruleId);
}
