import { CatalogError, quoteUntrusted } from '../errors.ts';
import { digestHex, type Digest } from '../oci/digest.ts';
import type { OciLayout } from '../oci/layout.ts';
import { Annotation, type Descriptor } from '../oci/media-types.ts';
import { assertRepositoryName, assertTag, isLoopbackHost } from '../oci/registry/reference.ts';

/**
 * What publish pushes where. The layout's ref names say what each artefact is:
 *   step-<program>            → <ns>/steps/<program>:<version annotation>, or
 *                               :sha-<first 20 hex of the index digest> without one
 *   bundle-<task>-<MAJOR.MINOR> → <ns>/tasks/<task>:<MAJOR.MINOR>
 *   catalog-<n>               → <ns>/catalog:<n>
 * Pipelines pin step images by digest; the tag exists because a repository
 * without any tag is invisible to tag listing (`skopeo inspect` fails on
 * it) and to registries that garbage-collect untagged manifests. Version
 * and sha- tags are immutable: publish refuses to point one at different
 * content. Catalog tags are "latest" pointers and
 * move on purpose; consumers pin them by digest.
 */
export type ArtefactKind = 'step-image' | 'task-bundle' | 'catalog-bundle';

export interface PlannedArtefact {
  kind: ArtefactKind;
  refName: string;
  repository: string;
  /** Undefined: pushed by digest only. */
  tag?: string | undefined;
  /** May the tag be moved to new content? */
  movableTag: boolean;
  descriptor: Descriptor & { digest: Digest };
}

export interface RegistryTarget {
  host: string;
  /** Path prefix inside the registry, "" for none. */
  namespace: string;
}

export function parseRegistryTarget(value: string, options: { plainHttp?: boolean } = {}): RegistryTarget {
  const slash = value.indexOf('/');
  const host = slash < 0 ? value : value.slice(0, slash);
  const namespace = slash < 0 ? '' : value.slice(slash + 1).replace(/\/+$/, '');
  const fail = (rule: string): never => {
    throw new CatalogError('USAGE_REGISTRY', `--registry ${quoteUntrusted(value, 120)} is invalid: ${rule}`, {
      hint: 'write it as host[:port]/namespace, e.g. ghcr.io/my-org/tekton or 127.0.0.1:5000/catalog',
    });
  };
  if (!/^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i.test(host)) {
    fail('the host must be a DNS name or IP address with an optional port');
  }
  if (namespace !== '') {
    try {
      assertRepositoryName(namespace);
    } catch {
      fail('the namespace must be lower-case path components separated by "/"');
    }
  }
  if (options.plainHttp && !isLoopbackHost(host)) fail('--plain-http is allowed only for a loopback registry (127.0.0.1, localhost, [::1])');
  return { host, namespace };
}

const STEP = /^step-([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/;
const BUNDLE = /^bundle-([a-z0-9]([-a-z0-9]*[a-z0-9])?)-((?:0|[1-9]\d*)\.(?:0|[1-9]\d*))$/;
const CATALOG = /^catalog-([1-9]\d*)$/;

/** Maps every tagged entry of the layout to its destination; an entry of unknown kind stops the publish. */
export async function planPublish(layout: OciLayout, target: RegistryTarget): Promise<PlannedArtefact[]> {
  const index = await layout.index();
  const prefix = target.namespace === '' ? '' : `${target.namespace}/`;
  const artefacts: PlannedArtefact[] = [];
  for (const entry of index.manifests) {
    const refName = entry.annotations?.[Annotation.refName];
    if (refName === undefined) continue;
    const descriptor = withoutRefName(entry);
    let artefact: PlannedArtefact;
    let match: RegExpExecArray | null;
    if ((match = STEP.exec(refName))) {
      const tag = entry.annotations?.[Annotation.version] ?? `sha-${digestHex(descriptor.digest).slice(0, 20)}`;
      artefact = { kind: 'step-image', refName, repository: `${prefix}steps/${match[1]}`, tag, movableTag: false, descriptor };
    } else if ((match = BUNDLE.exec(refName))) {
      artefact = { kind: 'task-bundle', refName, repository: `${prefix}tasks/${match[1]}`, tag: match[3]!, movableTag: false, descriptor };
    } else if ((match = CATALOG.exec(refName))) {
      artefact = { kind: 'catalog-bundle', refName, repository: `${prefix}catalog`, tag: match[1]!, movableTag: true, descriptor };
    } else {
      throw new CatalogError('PUBLISH_UNKNOWN_ARTEFACT', `layout ${layout.dir} holds ${quoteUntrusted(refName)}, which is neither step-<program>, bundle-<task>-<version> nor catalog-<n>`, {
        hint: 'rebuild with `npm run build`; publish pushes only what it knows how to name',
      });
    }
    assertRepositoryName(artefact.repository);
    if (artefact.tag !== undefined) assertTag(artefact.tag);
    artefacts.push(artefact);
  }
  if (artefacts.length === 0) {
    throw new CatalogError('PUBLISH_NOTHING', `layout ${layout.dir} has no tagged images or bundles`, { hint: 'run `npm run build` first' });
  }
  // Images before bundles before catalog bundles: what refers to an image is published after it.
  const order: Record<ArtefactKind, number> = { 'step-image': 0, 'task-bundle': 1, 'catalog-bundle': 2 };
  return artefacts.sort((a, b) => order[a.kind] - order[b.kind] || (a.refName < b.refName ? -1 : 1));
}

function withoutRefName(entry: Descriptor): Descriptor & { digest: Digest } {
  const { annotations, ...rest } = entry;
  const others = Object.fromEntries(Object.entries(annotations ?? {}).filter(([key]) => key !== Annotation.refName));
  return Object.keys(others).length > 0 ? { ...rest, annotations: others } : { ...rest };
}
