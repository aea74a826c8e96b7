import { join } from 'node:path';
import { CatalogError } from '../errors.ts';
import { readCatalogIndex, writeCatalogIndex } from './catalog-index.ts';

/**
 * Marks Task versions as released in catalog/index.json. From then on the
 * build refuses to produce different content under those versions.
 * `task@version` names one version; a bare `task` names its latest.
 */
export async function releaseVersions(catalogDir: string, specs: string[]): Promise<string[]> {
  const indexPath = join(catalogDir, 'index.json');
  const index = await readCatalogIndex(indexPath);
  if (!index) throw new CatalogError('CATALOG_INDEX_MISSING', `${indexPath} does not exist`, { hint: 'run `npm run build` first' });
  const released: string[] = [];
  for (const spec of specs) {
    const [name = '', versionPart] = spec.split('@');
    const entry = index.tasks[name];
    if (!entry) throw new CatalogError('USAGE_UNKNOWN_TASK', `no Task named ${JSON.stringify(name)} in the catalog index`);
    const version = versionPart ?? entry.latest;
    const record = entry.versions[version];
    if (!record) throw new CatalogError('USAGE_UNKNOWN_VERSION', `Task ${name} has no version ${JSON.stringify(version)}`);
    record.status = 'released';
    released.push(`${name}@${version}`);
  }
  await writeCatalogIndex(indexPath, index);
  return released;
}
