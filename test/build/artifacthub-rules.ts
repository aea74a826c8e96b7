// Artifact Hub's rules for a directory-versioned Tekton catalog, restated
// from its source (read through the search tool; every rule names the file
// and the stored commit it comes from) so test/build/artifacthub.test.ts can
// check the emitted catalog against them. Artifact Hub does not fail loudly:
// a version that breaks one of these rules is skipped with a warning in the
// tracker's log, so the catalog must meet them before it is published.
//
//   TEKTON  artifacthub/hub internal/tracker/source/tekton/tekton.go @ 0fdf95480a06191ebc37295b37cfad64f098c7a2
//   PKG     artifacthub/hub internal/hub/pkg.go @ 80897251783447d398f2aa8aeb7ed9a5259d49f5
//   META    artifacthub/hub internal/pkg/metadata.go @ b5bcbd74e6d46d10a3ecffbc532d11814b4d652b
//   CHANGES artifacthub/hub internal/tracker/source/helpers.go @ 88a510305980ea662200b9bd00ca3023e7d3b5e2
//   FILES   artifacthub/hub internal/util/file.go @ 0ef8def3dcdb6e015bf6dfb95d357cf94e34dcd1
//   GENERIC artifacthub/hub internal/tracker/source/generic/generic.go @ 70a62421b26e76c2513f33e231b20b7e8f37f7b8
//   REPO    artifacthub/hub internal/repo/manager.go @ 03276a40f9d89b66ad1100833c18469ebcabfe12
//   SEMVER  Masterminds/semver (v3) version.go @ 6026159ccd8598a1d3f6070e113522ecf9a0fc3b
//   NAME    google/go-containerregistry pkg/name/{ref,tag,digest,repository,registry}.go
//           @ 0a2ef1df (ref), 00f21513 (tag, digest), 0432ad35 (repository), 2f91ae9d (registry);
//           checkElement (pkg/name/check.go) is not stored in the index: its rule (rune count within
//           bounds, only the allowed characters) is restated from the callers' arguments.
import { parse } from 'yaml';

/** Masterminds' NewVersion: the lenient form, `v` prefix and missing minor/patch allowed (SEMVER). */
export function mastermindsVersion(text: string): { major: bigint; minor: bigint; patch: bigint; pre: string; metadata: string } | undefined {
  const match = /^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$/.exec(text);
  if (!match) return undefined;
  const MAX = (1n << 64n) - 1n; // strconv.ParseUint(_, 10, 64)
  const numbers = [match[1]!, match[2]?.slice(1) ?? '0', match[3]?.slice(1) ?? '0'].map((n) => BigInt(n));
  if (numbers.some((n) => n > MAX)) return undefined;
  const pre = match[5] ?? '';
  const metadata = match[8] ?? '';
  // validatePrerelease: a numeric identifier has no leading zero.
  if (pre !== '' && pre.split('.').some((part) => /^[0-9]+$/.test(part) && part.length > 1 && part[0] === '0')) return undefined;
  return { major: numbers[0]!, minor: numbers[1]!, patch: numbers[2]!, pre, metadata };
}

/** Version.String(): what PreparePackage compares (TEKTON: "version mismatch"). */
export function mastermindsString(text: string): string | undefined {
  const v = mastermindsVersion(text);
  if (v === undefined) return undefined;
  return `${v.major}.${v.minor}.${v.patch}${v.pre ? `-${v.pre}` : ''}${v.metadata ? `+${v.metadata}` : ''}`;
}

const runes = (s: string) => [...s].length;
const only = (s: string, allowed: string) => [...s].every((c) => allowed.includes(c));

function checkRepository(repository: string): boolean {
  return runes(repository) >= 2 && runes(repository) <= 255 && only(repository, 'abcdefghijklmnopqrstuvwxyz0123456789_-./');
}

/** checkRegistry: url.Parse("//" + name).Host must be the name itself, i.e. a plain host[:port] authority. */
function checkRegistry(registry: string): boolean {
  return registry === '' || /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(:[0-9]*)?$/.test(registry);
}

function newRepository(name: string): string | undefined {
  if (name === '') return undefined;
  const slash = name.indexOf('/');
  let registry = '';
  let repository = name;
  if (slash >= 0 && /[.:]/.test(name.slice(0, slash))) {
    registry = name.slice(0, slash);
    repository = name.slice(slash + 1);
  }
  if (!checkRepository(repository) || !checkRegistry(registry)) return undefined;
  const host = registry === '' || registry === 'docker.io' ? 'index.docker.io' : registry;
  if (host === 'index.docker.io' && !repository.includes('/')) {
    repository = `library/${repository}`;
    if (!checkRepository(repository)) return undefined;
  }
  return `${host}/${repository}`;
}

function newTag(name: string): string | undefined {
  let base = name;
  let tag = '';
  const parts = name.split(':');
  if (parts.length > 1 && !parts.at(-1)!.includes('/')) {
    base = parts.slice(0, -1).join(':');
    tag = parts.at(-1)!;
  }
  if (tag !== '' && !(runes(tag) <= 127 && only(tag, 'abcdefghijklmnopqrstuvwxyz0123456789_-.ABCDEFGHIJKLMNOPQRSTUVWXYZ'))) return undefined;
  return newRepository(base);
}

function newDigest(name: string): string | undefined {
  const parts = name.split('@');
  if (parts.length !== 2) return undefined;
  const [base, digest] = parts as [string, string];
  if (runes(digest) !== 71 || !only(digest, 'sh:0123456789abcdef')) return undefined;
  return newRepository(newTag(base) ?? base);
}

/** go-containerregistry's name.ParseReference with default (weak) options, as pkg.ValidateContainersImages calls it (META). */
export function parsesAsReference(text: string): boolean {
  if (text.startsWith('http://') || text.startsWith('https://')) return false;
  return newTag(text) !== undefined || newDigest(text) !== undefined;
}

/** PackageCategoryFromName (PKG): any other name is "invalid category name". */
export const CATEGORY_NAMES = [
  'skip-prediction',
  'ai-machine-learning',
  'database',
  'integration-delivery',
  'monitoring-logging',
  'networking',
  'security',
  'storage',
  'streaming-messaging',
];

/** validChangeKinds (META), compared lower-cased. */
const CHANGE_KINDS = ['added', 'changed', 'deprecated', 'removed', 'fixed', 'security'];

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const str = (value: unknown) => (typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value));

/**
 * ParseChangesAnnotation (CHANGES): a YAML list of {kind, description, links}
 * or, failing that, a list of strings; then ValidateChange (META) on each.
 */
export function changesProblems(annotation: string): string[] {
  let value: unknown;
  try {
    value = parse(annotation);
  } catch {
    return ['not YAML'];
  }
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) return ['not a YAML list'];
  const problems: string[] = [];
  for (const [i, entry] of value.entries()) {
    if (typeof entry === 'string') {
      if (value.some((e) => typeof e !== 'string')) problems.push(`entry ${i}: strings and mappings mixed`);
      else if (entry === '') problems.push(`entry ${i}: description not provided`);
      continue;
    }
    if (!isRecord(entry)) {
      problems.push(`entry ${i}: neither a mapping nor a string`);
      continue;
    }
    const kind = str(entry.kind);
    if (kind !== '' && !CHANGE_KINDS.includes(kind.toLowerCase())) problems.push(`entry ${i}: invalid kind ${kind}`);
    if (str(entry.description) === '') problems.push(`entry ${i}: description not provided`);
    if (entry.links !== undefined && entry.links !== null) {
      if (!Array.isArray(entry.links)) problems.push(`entry ${i}: links is not a list`);
      else
        for (const link of entry.links) {
          if (!isRecord(link) || str(link.name) === '') problems.push(`entry ${i}: link name not provided`);
          if (!isRecord(link) || str(link.url) === '') problems.push(`entry ${i}: link url not provided`);
        }
    }
  }
  return problems;
}

/**
 * A YAML list of mappings (TEKTON unmarshals links into []*hub.Link and
 * maintainers into []*hub.Maintainer, with sigs.k8s.io/yaml: anything but a
 * list of mappings fails to unmarshal and drops the version). `required`
 * fields must be non-empty: a maintainer without an email drops the version
 * (TEKTON, "maintainer email not provided"); a link without a name or url
 * would show as a broken link.
 */
export function listOfMappingsProblems(annotation: string, required: string[]): string[] {
  let value: unknown;
  try {
    value = parse(annotation);
  } catch {
    return ['not YAML'];
  }
  if (!Array.isArray(value)) return ['not a YAML list'];
  const problems: string[] = [];
  for (const [i, entry] of value.entries()) {
    if (!isRecord(entry)) {
      problems.push(`entry ${i} is not a mapping`);
      continue;
    }
    for (const field of required) if (str(entry[field]) === '') problems.push(`entry ${i}: ${field} not provided`);
  }
  return problems;
}
