import { CatalogError, quoteUntrusted } from '../../errors.ts';
import { isDigest, type Digest } from '../digest.ts';

/**
 * An image reference split the way Docker and the OCI distribution spec
 * read it: `[registry/]repository[:tag][@digest]`. Docker Hub is the default
 * registry, and a one-part Docker Hub name lives under `library/`.
 */
export interface ImageReference {
  /** Host as written, with port: "127.0.0.1:5000", "ghcr.io", "docker.io". */
  registry: string;
  /** Repository path without the registry: "tasks/git-clone", "library/alpine". */
  repository: string;
  tag?: string;
  digest?: Digest;
}

export const DOCKER_HUB = 'docker.io';
/** The host Docker Hub's registry API actually answers on. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
const MAX_REFERENCE = 4096;

export function parseReference(input: string): ImageReference {
  const fail = (rule: string): never => {
    throw new CatalogError('USAGE_IMAGE_REFERENCE', `image reference ${quoteUntrusted(input, 120)} is invalid: ${rule}`, {
      hint: 'write it as registry.example.com/repository/name:tag or …@sha256:<64 hex>',
    });
  };
  if (input.length === 0 || input.length > MAX_REFERENCE) fail(`must be 1 to ${MAX_REFERENCE} characters`);

  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const raw = rest.slice(at + 1);
    if (!isDigest(raw)) fail('the digest must be sha256:<64 lowercase hex> (other algorithms are not accepted)');
    digest = raw as Digest;
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail('the tag must be 1-128 of letters, digits, "_", "." and "-", not starting with "." or "-"');
  }

  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  // Docker's rule: the first part is a registry host only if it looks like one.
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    registry = first;
    parts.shift();
    if (!HOST.test(registry)) fail('the registry host is not a valid host[:port]');
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (parts.length === 0 || parts.some((part) => !COMPONENT.test(part))) {
    fail('each repository path component must be lower-case letters and digits, separated by ".", "_", "__" or "-"');
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (repository.length > 255) fail('the repository name is longer than 255 characters');

  const reference: ImageReference = { registry, repository };
  if (tag !== undefined) reference.tag = tag;
  if (digest !== undefined) reference.digest = digest;
  return reference;
}

/** The tag or digest to ask the registry for: the digest wins, then the tag, then "latest". */
export function referenceTarget(reference: ImageReference): string {
  return reference.digest ?? reference.tag ?? 'latest';
}

export function formatReference(reference: ImageReference): string {
  let text = `${reference.registry}/${reference.repository}`;
  if (reference.tag !== undefined) text += `:${reference.tag}`;
  if (reference.digest !== undefined) text += `@${reference.digest}`;
  return text;
}

/** Checks a repository path (used when one is built from parts rather than parsed). */
export function assertRepositoryName(repository: string): void {
  if (repository.length > 255 || !repository.split('/').every((part) => COMPONENT.test(part))) {
    throw new CatalogError('USAGE_REPOSITORY_NAME', `repository name ${quoteUntrusted(repository, 120)} is invalid`, {
      hint: 'use lower-case path components separated by "/"',
    });
  }
}

export function assertTag(tag: string): void {
  if (!TAG.test(tag)) {
    throw new CatalogError('USAGE_TAG', `tag ${quoteUntrusted(tag)} is invalid`, {
      hint: 'a tag is 1-128 of letters, digits, "_", "." and "-", not starting with "." or "-"',
    });
  }
}

/** True for hosts that never leave the machine; only these may be reached over plain HTTP. */
export function isLoopbackHost(hostWithPort: string): boolean {
  const host = hostWithPort.startsWith('[') ? hostWithPort.slice(0, hostWithPort.indexOf(']') + 1) : hostWithPort.split(':')[0]!;
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
