import type { CatalogIndex } from '../build/catalog-index.ts';
import type { Arch } from '../build/runtime/lock.ts';
import type { Digest } from '../oci/digest.ts';
import { formatReference, parseReference } from '../oci/registry/index.ts';
import { SigningErrorCode, signingError } from './errors.ts';

export type SignTargetKind = 'step-image' | 'step-image-platform' | 'task-bundle' | 'catalog-bundle';

/** One digest to sign, exactly as catalog/index.json records it. */
export interface SignTarget {
  kind: SignTargetKind;
  registry: string;
  repository: string;
  digest: Digest;
  /** registry/repository@sha256:… */
  reference: string;
  /** For messages: "step image verify-image (arm64)", "Task bundle git-clone 0.1". */
  label: string;
  program?: string;
  arch?: Arch;
  /** For step images: the index digest this platform manifest belongs to, or the index itself. */
  imageIndex?: Digest;
  /** For step images: the architectures the subject covers. */
  arches?: Arch[];
}

/**
 * Every digest the index records, once: each step image's multi-arch index
 * and each of its platform manifests, each Task bundle, each catalog bundle.
 * Images first, then what refers to them. A reference whose digest is not
 * the recorded one is refused: the index must not contradict itself.
 */
export function planSigning(index: CatalogIndex): SignTarget[] {
  const targets = new Map<string, SignTarget>();
  const add = (target: SignTarget) => {
    if (!targets.has(target.reference)) targets.set(target.reference, target);
  };
  for (const name of Object.keys(index.tasks).sort()) {
    const entry = index.tasks[name]!;
    for (const version of Object.keys(entry.versions).sort()) {
      const record = entry.versions[version]!;
      for (const program of Object.keys(record.images).sort()) {
        const image = record.images[program]!;
        const indexDigest = image.index as Digest;
        const where = locate(image.reference, image.index, `${name} ${version} image ${program}`);
        const arches = Object.keys(image.platforms).sort() as Arch[];
        add({ kind: 'step-image', ...where, reference: at(where, indexDigest), digest: indexDigest, label: `step image ${program}`, program, imageIndex: indexDigest, arches });
        for (const arch of arches) {
          const manifest = image.platforms[arch]!.manifest as Digest;
          add({
            kind: 'step-image-platform',
            ...where,
            reference: at(where, manifest),
            digest: manifest,
            label: `step image ${program} (${arch})`,
            program,
            arch,
            imageIndex: indexDigest,
            arches: [arch],
          });
        }
      }
      const bundle = locate(record.bundle.reference, record.bundle.digest, `${name} ${version} bundle`);
      add({ kind: 'task-bundle', ...bundle, reference: at(bundle, record.bundle.digest), digest: record.bundle.digest as Digest, label: `Task bundle ${name} ${version}` });
    }
  }
  index.catalogBundles.forEach((bundle, i) => {
    const where = locate(bundle.reference, bundle.digest, `catalog bundle ${i + 1}`);
    add({ kind: 'catalog-bundle', ...where, reference: at(where, bundle.digest), digest: bundle.digest as Digest, label: `catalog bundle ${i + 1} (${bundle.tasks.join(', ')})` });
  });
  const order: Record<SignTargetKind, number> = { 'step-image': 0, 'step-image-platform': 1, 'task-bundle': 2, 'catalog-bundle': 3 };
  return [...targets.values()].sort((a, b) => order[a.kind] - order[b.kind] || (a.reference < b.reference ? -1 : a.reference > b.reference ? 1 : 0));
}

function locate(reference: string, digest: string, what: string): { registry: string; repository: string } {
  let parsed;
  try {
    parsed = parseReference(reference);
  } catch {
    throw signingError(SigningErrorCode.indexInconsistent, `catalog/index.json: ${what} has an unreadable reference`, 'rebuild the catalog with `npm run build`');
  }
  if (parsed.digest !== undefined && parsed.digest !== digest) {
    throw signingError(SigningErrorCode.indexInconsistent, `catalog/index.json: ${what} is referenced as ${parsed.digest} but recorded as ${digest}`, 'restore catalog/index.json from git and rebuild');
  }
  return { registry: parsed.registry, repository: parsed.repository };
}

function at(where: { registry: string; repository: string }, digest: string): string {
  return formatReference({ registry: where.registry, repository: where.repository, digest: digest as Digest });
}
