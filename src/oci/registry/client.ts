import { setTimeout as sleep } from 'node:timers/promises';
import { CatalogError, quoteUntrusted } from '../../errors.ts';
import { digestHex, isDigest, sha256Digest, type Digest } from '../digest.ts';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../media-types.ts';
import { acceptableChallengeScopes, parseChallenge, repositoryScope, type Action, type Challenge } from './auth.ts';
import { MANIFEST_JSON_LIMITS, TOKEN_JSON_LIMITS, type JsonShapeLimits } from './bounded-json.ts';
import { credentialsFromDockerConfig, DEFAULT_DOCKER_CONFIG_SETTING, type BasicCredentials } from './credentials.ts';
import { DOCKER_HUB, DOCKER_HUB_API_HOST, assertRepositoryName } from './reference.ts';
import { DEFAULT_REALM_SETTING, assertRealmMayReceiveCredentials, parseRealm, parseTrustedRealms, type RealmPolicy } from './token-realm.ts';
import {
  Transport,
  describe,
  headerValue,
  isRetryableStatus,
  wrapNetworkError,
  type CallContext,
  type HttpResponse,
  type TransportOptions,
} from './transport.ts';

export interface RegistryClientOptions extends TransportOptions {
  /** Username and password, used for basic auth or to obtain Bearer tokens. */
  credentials?: BasicCredentials;
  /** A docker config.json to read credentials from (exact host match only). */
  dockerConfigPath?: string;
  /** Largest manifest or index accepted; the distribution spec suggests 4 MiB. */
  maxManifestBytes?: number;
  /** Largest blob accepted on pull. */
  maxBlobBytes?: number;
  /** Blobs larger than this are uploaded in PATCH chunks of this size. */
  chunkSize?: number;
  /**
   * Token servers (origins, `https://auth.example.com[:port]`, or bare hosts)
   * that may receive the credentials although they are neither on the
   * registry's host nor under its registrable domain. Empty by default.
   */
  trustedTokenRealms?: readonly string[];
  /** How messages name where the docker config comes from, e.g. a Task workspace; default the CLI's --docker-config. */
  dockerConfigSetting?: string;
  /** How a refusal names the setting above to the person who sees it (a Task param, a flag). */
  trustedTokenRealmsSetting?: string;
}

/**
 * Caps on a paged list (tags, referrers), checked while it is read: reading
 * stops at the first item, page or byte past a cap and the call fails with
 * REGISTRY_LIST_TOO_LONG. Nothing is collected and then cut.
 */
export interface ListLimits {
  /** Most entries in the whole list, over all pages. */
  maxItems?: number;
  /** Most pages (Link: rel="next") followed. */
  maxPages?: number;
  /** Most bytes read over all pages. */
  maxBytes?: number;
}

export interface PulledManifest {
  digest: Digest;
  mediaType: string;
  bytes: Buffer;
  manifest: ImageManifest | ImageIndex;
}

export interface ReferrersList {
  /** "api" when the registry has the referrers API, "tag-schema" when the sha256-<hex> tag was read instead. */
  source: 'api' | 'tag-schema';
  /** Filters the registry says it applied (only from the API); callers filter the rest themselves. */
  filtersApplied: string[];
  /** The descriptors exactly as the registry listed them. */
  manifests: Descriptor[];
}

export interface ManifestPullOptions {
  accept?: readonly string[];
  /** Reading stops at the first descriptor (array item) past this many. */
  maxDescriptors?: number;
  maxBytes?: number;
}

export type BlobPushOutcome = 'exists' | 'mounted' | 'uploaded';

/** Accept header for manifests: both OCI and Docker forms, images and indexes. */
export const MANIFEST_ACCEPT = [
  MediaType.imageIndex,
  MediaType.imageManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
] as const;

const MANIFEST_TYPES = new Set<string>(MANIFEST_ACCEPT);
const DEFAULT_MAX_MANIFEST = 4 * 1024 * 1024;
const DEFAULT_MAX_BLOB = 512 * 1024 * 1024;
const DEFAULT_CHUNK = 16 * 1024 * 1024;
const SMALL_BODY = 64 * 1024;
const MAX_TOKEN_BODY = 64 * 1024;
/** Bearer tokens are JWTs or opaque strings of a few KiB; one longer than this is not sent anywhere. */
const MAX_TOKEN_CHARS = 16 * 1024;
/** A cached token is reused at most this long, whatever lifetime the token server claims. */
const MAX_TOKEN_LIFETIME_SECONDS = 3600;
export const DEFAULT_TAG_LIMITS: Required<ListLimits> = { maxItems: 50_000, maxPages: 1_000, maxBytes: 8 * 1024 * 1024 };
export const DEFAULT_REFERRER_LIMITS: Required<ListLimits> = { maxItems: 1_000, maxPages: 64, maxBytes: 4 * 1024 * 1024 };

/**
 * A client for one registry, speaking the OCI distribution spec (Docker
 * Registry HTTP API v2). Every manifest and blob it returns was checked
 * against its digest; every failure is a CatalogError naming the registry,
 * repository and operation.
 */
export class RegistryClient {
  readonly registry: string;
  private readonly apiHost: string;
  private readonly transport: Transport;
  private readonly options: RegistryClientOptions;
  private credentials: BasicCredentials | undefined;
  private readonly credentialsLoaded: boolean;
  private credentialsLoading: Promise<void> | undefined;
  private challenge: Challenge | { scheme: 'none' } | undefined;
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  private readonly pendingTokens = new Map<string, Promise<{ token: string; expiresAt: number }>>();
  private readonly realmPolicy: RealmPolicy;

  constructor(registry: string, options: RegistryClientOptions = {}) {
    this.registry = registry;
    this.apiHost = registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
    this.options = options;
    const setting = options.trustedTokenRealmsSetting ?? DEFAULT_REALM_SETTING;
    this.realmPolicy = { trusted: parseTrustedRealms(options.trustedTokenRealms ?? [], setting), setting };
    this.transport = new Transport(options);
    this.credentials = options.credentials;
    this.credentialsLoaded = options.credentials !== undefined || options.dockerConfigPath === undefined;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  /** GET /v2/: checks the registry speaks the API and learns how it wants us to authenticate. */
  async ping(): Promise<void> {
    const context: CallContext = { registry: this.registry, operation: 'ping' };
    await this.loadCredentials();
    const response = await this.transport.send(
      { method: 'GET', url: this.url('/v2/', context), retryable: true, maxBytes: SMALL_BODY },
      context,
    );
    if (response.status === 200) {
      this.challenge = { scheme: 'none' };
      return;
    }
    if (response.status === 401) {
      const challenge = parseChallenge(headerValue(response.headers['www-authenticate']));
      if (challenge === undefined) throw unsupportedChallenge(context);
      this.challenge = challenge;
      return;
    }
    throw statusError(response, context);
  }

  async blobSize(repository: string, digest: Digest): Promise<number | undefined> {
    const context = this.context(repository, `blob HEAD ${digest}`);
    const response = await this.call(context, ['pull'], { method: 'HEAD', path: `/v2/${repository}/blobs/${digest}`, retryable: true });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw statusError(response, context);
    const size = Number(headerValue(response.headers['content-length']));
    return Number.isFinite(size) ? size : 0;
  }

  async hasBlob(repository: string, digest: Digest): Promise<boolean> {
    return (await this.blobSize(repository, digest)) !== undefined;
  }

  /**
   * Downloads a blob and checks it against its digest before returning it.
   * With `json`, a blob the caller will parse as JSON (a Sigstore bundle, a
   * signature payload) is also held to those shape limits while it streams;
   * whether it is well-formed is left to the caller's parser.
   */
  async getBlob(repository: string, digest: Digest, options: { maxBytes?: number; json?: JsonShapeLimits } = {}): Promise<Buffer> {
    const context = this.context(repository, `blob GET ${digest}`);
    const response = await this.call(context, ['pull'], {
      method: 'GET',
      path: `/v2/${repository}/blobs/${digest}`,
      retryable: true,
      maxBytes: options.maxBytes ?? this.options.maxBlobBytes ?? DEFAULT_MAX_BLOB,
      ...(options.json === undefined ? {} : { json: options.json }),
    });
    if (response.status !== 200) throw statusError(response, context);
    verifyDigest(response.body, digest, context);
    return response.body;
  }

  /**
   * Mounts a blob from another repository of the same registry, so shared
   * layers are not uploaded twice. Returns false when the registry declined
   * (it then opened an upload session instead, which is cancelled).
   */
  async mountBlob(repository: string, digest: Digest, fromRepository: string): Promise<boolean> {
    assertRepositoryName(fromRepository);
    const context = this.context(repository, `blob mount ${digest} from ${fromRepository}`);
    const query = `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepository)}`;
    const response = await this.call(
      context,
      ['pull', 'push'],
      { method: 'POST', path: `/v2/${repository}/blobs/uploads/${query}`, retryable: true },
      [repositoryScope(fromRepository, ['pull'])],
    );
    if (response.status === 201) return true;
    if (response.status === 202) {
      const location = headerValue(response.headers.location);
      if (location !== undefined) await this.cancelUpload(new URL(location, response.url), context);
      return false;
    }
    throw statusError(response, context);
  }

  /**
   * Uploads a blob: one PUT for small blobs, PATCH chunks then PUT for large
   * ones. The bytes are checked against the digest first, so we never ask a
   * registry to store content under a wrong name. A failed upload (network,
   * 429, 5xx) is restarted from a new session, a bounded number of times.
   */
  async uploadBlob(repository: string, digest: Digest, bytes: Buffer, options: { chunkSize?: number } = {}): Promise<void> {
    const context = this.context(repository, `blob upload ${digest}`);
    verifyDigest(bytes, digest, { ...context, operation: `${context.operation} (local content)` });
    const chunkSize = options.chunkSize ?? this.options.chunkSize ?? DEFAULT_CHUNK;
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.uploadOnce(repository, digest, bytes, chunkSize, context);
        if (outcome === 'done') return;
        if (attempt >= this.transport.maxAttempts) throw statusError(outcome, context, attempt);
        await sleep(this.transport.retryDelay(attempt, outcome.headers, context));
      } catch (error) {
        const transient = error instanceof CatalogError && (error.code === 'REGISTRY_UNREACHABLE' || error.code === 'REGISTRY_TIMEOUT');
        if (!transient || attempt >= this.transport.maxAttempts) throw error;
        await sleep(this.transport.retryDelay(attempt, undefined, context));
      }
    }
  }

  /** One upload session. Returns 'done', or the retryable response that ended it. */
  private async uploadOnce(repository: string, digest: Digest, bytes: Buffer, chunkSize: number, context: CallContext): Promise<'done' | HttpResponse> {
    const path = `/v2/${repository}/blobs/uploads/`;
    const started = await this.call(context, ['pull', 'push'], { method: 'POST', path, retryable: false });
    if (isRetryableStatus(started.status)) return started;
    if (started.status !== 202) throw statusError(started, context);
    let location = this.uploadLocation(started, context);

    let offset = 0;
    if (bytes.byteLength > chunkSize) {
      while (offset < bytes.byteLength) {
        const chunk = bytes.subarray(offset, Math.min(offset + chunkSize, bytes.byteLength));
        const patched = await this.call(context, ['pull', 'push'], {
          method: 'PATCH',
          url: location,
          retryable: false,
          body: chunk,
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${offset}-${offset + chunk.byteLength - 1}`,
          },
        });
        if (isRetryableStatus(patched.status)) return patched;
        if (patched.status !== 202) throw statusError(patched, context);
        const range = headerValue(patched.headers.range);
        const expectedEnd = offset + chunk.byteLength - 1;
        if (range !== undefined && range !== `0-${expectedEnd}` && range !== `bytes=0-${expectedEnd}`) {
          throw new CatalogError('REGISTRY_PROTOCOL', `${describe(context)}: after a chunk the registry reported range ${quoteUntrusted(range)}, expected 0-${expectedEnd}`);
        }
        location = this.uploadLocation(patched, context);
        offset += chunk.byteLength;
      }
    }
    const finalBody = offset === 0 ? bytes : undefined;
    const put = await this.call(context, ['pull', 'push'], {
      method: 'PUT',
      url: withQuery(location, 'digest', digest),
      retryable: false,
      ...(finalBody === undefined ? {} : { body: finalBody, headers: { 'content-type': 'application/octet-stream' } }),
    });
    if (isRetryableStatus(put.status)) return put;
    if (put.status !== 201) throw statusError(put, context);
    const stored = headerValue(put.headers['docker-content-digest']);
    if (stored !== undefined && stored !== digest) {
      throw new CatalogError('REGISTRY_DIGEST_MISMATCH', `${describe(context)}: the registry stored the blob as ${quoteUntrusted(stored, 80)}`);
    }
    return 'done';
  }

  /** HEAD a blob, mount it from `mountFrom` if given, else upload it. */
  async pushBlob(repository: string, digest: Digest, load: () => Promise<Buffer>, options: { mountFrom?: string } = {}): Promise<BlobPushOutcome> {
    if (await this.hasBlob(repository, digest)) return 'exists';
    if (options.mountFrom !== undefined && options.mountFrom !== repository) {
      if (await this.mountBlob(repository, digest, options.mountFrom)) return 'mounted';
    }
    await this.uploadBlob(repository, digest, await load());
    return 'uploaded';
  }

  /** HEAD a manifest: its digest, media type and size, or undefined if the registry has none under that reference. */
  async manifestDescriptor(repository: string, reference: string): Promise<Descriptor | undefined> {
    const context = this.context(repository, `manifest HEAD ${reference}`);
    const response = await this.call(context, ['pull'], {
      method: 'HEAD',
      path: `/v2/${repository}/manifests/${reference}`,
      retryable: true,
      headers: { accept: MANIFEST_ACCEPT.join(', ') },
    });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw statusError(response, context);
    const digest = headerValue(response.headers['docker-content-digest']);
    const mediaType = headerValue(response.headers['content-type']) ?? '';
    const size = Number(headerValue(response.headers['content-length']));
    if (digest === undefined || !isDigest(digest) || (isDigest(reference) && digest !== reference)) {
      // Without a trustworthy digest header, fetch the manifest and hash it ourselves.
      const pulled = await this.getManifest(repository, reference);
      return { mediaType: pulled.mediaType, digest: pulled.digest, size: pulled.bytes.byteLength };
    }
    return { mediaType, digest, size: Number.isFinite(size) ? size : 0 };
  }

  /**
   * GETs a manifest or index by tag or digest, with content negotiation for
   * OCI and Docker types. By digest, the bytes must hash to it; by tag, they
   * must hash to the Docker-Content-Digest the registry sent, if it sent one.
   */
  async getManifest(repository: string, reference: string, options: ManifestPullOptions = {}): Promise<PulledManifest> {
    return (await this.pullManifest(repository, reference, options, false))!;
  }

  /**
   * getManifest, but a manifest the registry does not have (HTTP 404) is
   * undefined instead of an error: one GET where a HEAD, then a GET, would
   * cost two round trips (and undici drops the connection after a HEAD).
   */
  async findManifest(repository: string, reference: string, options: ManifestPullOptions = {}): Promise<PulledManifest | undefined> {
    return this.pullManifest(repository, reference, options, true);
  }

  private async pullManifest(repository: string, reference: string, options: ManifestPullOptions, missingIsUndefined: boolean): Promise<PulledManifest | undefined> {
    const context = this.context(repository, `manifest GET ${reference}`);
    const maxBytes = Math.min(options.maxBytes ?? Infinity, this.options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST);
    const response = await this.call(context, ['pull'], {
      method: 'GET',
      path: `/v2/${repository}/manifests/${reference}`,
      retryable: true,
      maxBytes,
      json: options.maxDescriptors === undefined ? MANIFEST_JSON_LIMITS : { ...MANIFEST_JSON_LIMITS, maxArrayItems: options.maxDescriptors },
      headers: { accept: (options.accept ?? MANIFEST_ACCEPT).join(', ') },
    });
    if (response.status === 404 && missingIsUndefined) return undefined;
    if (response.status !== 200) throw statusError(response, context);
    const bytes = response.body;
    const digest = sha256Digest(bytes);
    if (isDigest(reference)) {
      verifyDigest(bytes, reference, context);
    } else {
      const claimed = headerValue(response.headers['docker-content-digest']);
      if (claimed !== undefined && claimed !== digest) {
        throw new CatalogError('REGISTRY_DIGEST_MISMATCH', `${describe(context)}: the manifest hashes to ${digest} but the registry said ${quoteUntrusted(claimed, 80)}`, {
          hint: 'the registry or something between us and it altered the content; do not use it',
        });
      }
    }
    let manifest: ImageManifest | ImageIndex;
    try {
      if (!response.jsonWellFormed) throw new SyntaxError('not one JSON value');
      manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest | ImageIndex;
    } catch {
      throw new CatalogError('REGISTRY_MANIFEST_INVALID', `${describe(context)}: the manifest is not valid JSON`);
    }
    if (typeof manifest !== 'object' || manifest === null || manifest.schemaVersion !== 2) {
      throw new CatalogError('REGISTRY_MANIFEST_INVALID', `${describe(context)}: the manifest is not a schemaVersion 2 manifest or index`);
    }
    const headerType = headerValue(response.headers['content-type'])?.split(';')[0]?.trim();
    const declared = typeof manifest.mediaType === 'string' ? manifest.mediaType : undefined;
    if (declared !== undefined && headerType !== undefined && MANIFEST_TYPES.has(headerType) && declared !== headerType) {
      throw new CatalogError('REGISTRY_MANIFEST_INVALID', `${describe(context)}: Content-Type ${headerType} contradicts the manifest's mediaType ${quoteUntrusted(declared)}`);
    }
    const mediaType = declared ?? headerType ?? '';
    if (!MANIFEST_TYPES.has(mediaType)) {
      throw new CatalogError('REGISTRY_MANIFEST_INVALID', `${describe(context)}: unsupported manifest media type ${quoteUntrusted(mediaType)}`);
    }
    return { digest, mediaType, bytes, manifest };
  }

  /** PUTs a manifest or index under a tag or its digest; returns its digest. */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    const context = this.context(repository, `manifest PUT ${reference}`);
    const digest = sha256Digest(bytes);
    if (isDigest(reference) && reference !== digest) {
      throw new CatalogError('REGISTRY_DIGEST_MISMATCH', `${describe(context)}: the manifest hashes to ${digest}, not the digest it is pushed as`);
    }
    const response = await this.call(context, ['pull', 'push'], {
      method: 'PUT',
      path: `/v2/${repository}/manifests/${reference}`,
      retryable: true,
      body: bytes,
      headers: { 'content-type': mediaType },
    });
    if (response.status !== 201 && response.status !== 200) throw statusError(response, context);
    const stored = headerValue(response.headers['docker-content-digest']);
    if (stored !== undefined && stored !== digest) {
      throw new CatalogError('REGISTRY_DIGEST_MISMATCH', `${describe(context)}: the registry stored the manifest as ${quoteUntrusted(stored, 80)}, not ${digest}`);
    }
    return digest;
  }

  /**
   * Every tag of a repository, following `Link: <…>; rel="next"` pages. A
   * repository the registry does not know has none. Bounded by `limits`
   * (DEFAULT_TAG_LIMITS): past any cap the call fails with REGISTRY_LIST_TOO_LONG.
   */
  async listTags(repository: string, options: { pageSize?: number } & ListLimits = {}): Promise<string[]> {
    const context = this.context(repository, 'tag list');
    const tags = await this.readList(context, `/v2/${repository}/tags/list?n=${options.pageSize ?? 1000}`, { ...DEFAULT_TAG_LIMITS, ...definedLimits(options) }, {
      what: 'tags',
      notFound: 'empty',
      items: (body) => {
        const list = (body as { tags?: unknown } | null)?.tags;
        if (list === null || list === undefined) return [];
        if (!Array.isArray(list) || list.some((tag) => typeof tag !== 'string')) {
          throw new CatalogError('REGISTRY_PROTOCOL', `${describe(context)}: "tags" is not a list of strings`);
        }
        return list as string[];
      },
    });
    return tags === 'not-found' ? [] : tags.items;
  }

  /**
   * The manifests that refer to `digest` (signatures, attestations, SBOMs).
   * Uses the referrers API when the registry has it and falls back to the
   * `sha256-<hex>` tag schema when it answers 404. Lists are returned raw:
   * fallback entries are not filtered, and API results are filtered only if
   * the registry says it did (see `filtersApplied`). Bounded by `limits`
   * (DEFAULT_REFERRER_LIMITS) over all pages, or over the one fallback index:
   * past any cap the call fails with REGISTRY_LIST_TOO_LONG.
   */
  async referrers(repository: string, digest: Digest, options: { artifactType?: string } & ListLimits = {}): Promise<ReferrersList> {
    const context = this.context(repository, `referrers ${digest}`);
    const limits = { ...DEFAULT_REFERRER_LIMITS, ...definedLimits(options) };
    const query = options.artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(options.artifactType)}`;
    const listed = await this.readList(context, `/v2/${repository}/referrers/${digest}${query}`, limits, {
      what: 'referrers',
      notFound: 'fallback',
      accept: MediaType.imageIndex,
      items: (body) => {
        const manifests = (body as Partial<ImageIndex> | null)?.manifests;
        if (!Array.isArray(manifests)) {
          throw new CatalogError('REGISTRY_PROTOCOL', `${describe(context)}: the referrers response is not an image index`);
        }
        return manifests;
      },
    });
    if (listed === 'not-found') return this.referrersByTag(repository, digest, limits);
    const applied = listed.firstHeaders === undefined ? undefined : headerValue(listed.firstHeaders['oci-filters-applied']);
    const filtersApplied = applied === undefined ? [] : applied.slice(0, 1024).split(',').map((part) => part.trim()).filter(Boolean).slice(0, 16);
    return { source: 'api', filtersApplied, manifests: listed.items };
  }

  /**
   * Reads a paged list, one page at a time, each page bounded (bytes and
   * JSON shape) while it streams in by what is left of the list's caps.
   * Items are appended one by one: a page is never spread into a call.
   */
  private async readList<T>(
    context: CallContext,
    firstPath: string,
    limits: Required<ListLimits>,
    page: { what: string; notFound: 'empty' | 'fallback'; accept?: string; items: (body: unknown) => T[] },
  ): Promise<{ items: T[]; firstHeaders: HttpResponse['headers'] | undefined } | 'not-found'> {
    const items: T[] = [];
    let bytes = 0;
    let firstHeaders: HttpResponse['headers'] | undefined;
    const seen = new Set<string>();
    const tooLong = (rule: string) =>
      new CatalogError('REGISTRY_LIST_TOO_LONG', `${describe(context)}: the registry's list of ${page.what} ${rule}; it was refused, not cut short`, {
        hint: 'the registry serves more than this list may hold (or pages without end); check the registry, or raise the cap where the caller allows it',
      });
    let next: string | undefined = firstPath;
    for (let pageNumber = 0; next !== undefined; pageNumber++) {
      if (pageNumber >= limits.maxPages) throw tooLong(`goes on past ${limits.maxPages} pages`);
      if (seen.has(next)) throw new CatalogError('REGISTRY_PROTOCOL', `${describe(context)}: the list of ${page.what} links back to a page already read`);
      seen.add(next);
      const room = limits.maxItems - items.length;
      const bytesLeft = limits.maxBytes - bytes;
      if (bytesLeft <= 0) throw tooLong(`is larger than ${limits.maxBytes} bytes`);
      let response: HttpResponse;
      try {
        response = await this.call(context, ['pull'], {
          method: 'GET',
          path: next,
          retryable: true,
          maxBytes: Math.min(bytesLeft, this.options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST),
          // Exactly what is left: a page that fills the list still reads, one item more stops the reading.
          json: { ...MANIFEST_JSON_LIMITS, maxArrayItems: Math.max(room, 0), maxValues: Math.max(MANIFEST_JSON_LIMITS.maxValues, room * 32) },
          ...(page.accept === undefined ? {} : { headers: { accept: page.accept } }),
        });
      } catch (error) {
        if (error instanceof CatalogError && error.code === 'REGISTRY_LIST_TOO_LONG') throw tooLong(`holds more than ${limits.maxItems} entries`);
        if (error instanceof CatalogError && error.code === 'REGISTRY_RESPONSE_TOO_LARGE' && bytesLeft < (this.options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST)) {
          throw tooLong(`is larger than ${limits.maxBytes} bytes`);
        }
        throw error;
      }
      if (response.status === 404 && pageNumber === 0) return 'not-found';
      if (response.status !== 200) throw statusError(response, context);
      bytes += response.body.byteLength;
      if (pageNumber === 0) firstHeaders = response.headers;
      const pageItems = page.items(parseJson(response, context));
      if (pageItems.length > room) throw tooLong(`holds more than ${limits.maxItems} entries`);
      for (const item of pageItems) items.push(item);
      next = this.nextLink(headerValue(response.headers.link), response.url, context);
    }
    return { items, firstHeaders };
  }

  /** The path of the next page from a `Link: <url>; rel="next"` header; a link off the registry is refused, not followed or dropped. */
  private nextLink(link: string | undefined, base: URL, context: CallContext): string | undefined {
    if (link === undefined) return undefined;
    if (link.length > 8192) throw new CatalogError('REGISTRY_PROTOCOL', `${describe(context)}: the Link header is longer than 8192 characters`);
    const match = /<([^>]*)>\s*;\s*rel="?next"?/i.exec(link);
    if (!match) return undefined;
    let url: URL;
    try {
      url = new URL(match[1]!, base);
    } catch {
      throw new CatalogError('REGISTRY_PROTOCOL', `${describe(context)}: the next-page link ${quoteUntrusted(match[1]!, 120)} is not a URL`);
    }
    if (url.origin !== this.origin(context)) {
      // Ending the list here would pass off part of it as all of it.
      throw new CatalogError('REGISTRY_PROTOCOL', `${describe(context)}: the next page is on another host (${quoteUntrusted(url.host)}); refused`);
    }
    return `${url.pathname}${url.search}`;
  }

  private async referrersByTag(repository: string, digest: Digest, limits: Required<ListLimits>): Promise<ReferrersList> {
    const tag = `sha256-${digestHex(digest)}`;
    let pulled: PulledManifest | undefined;
    try {
      pulled = await this.findManifest(repository, tag, {
        accept: [MediaType.imageIndex, MediaType.dockerManifestList],
        maxDescriptors: limits.maxItems,
        maxBytes: limits.maxBytes,
      });
    } catch (error) {
      if (error instanceof CatalogError && error.code === 'REGISTRY_LIST_TOO_LONG') {
        throw new CatalogError('REGISTRY_LIST_TOO_LONG', `${describe(this.context(repository, `referrers tag ${tag}`))}: the registry's list of referrers holds more than ${limits.maxItems} entries; it was refused, not cut short`, {
          cause: error,
          hint: 'the registry serves more than this list may hold; check the registry',
        });
      }
      throw error;
    }
    if (pulled === undefined) return { source: 'tag-schema', filtersApplied: [], manifests: [] };
    const manifests = (pulled.manifest as Partial<ImageIndex>).manifests;
    if (!Array.isArray(manifests)) {
      throw new CatalogError('REGISTRY_PROTOCOL', `${describe(this.context(repository, `referrers tag ${tag}`))}: the tag does not point at an image index`);
    }
    return { source: 'tag-schema', filtersApplied: [], manifests };
  }

  // ---- plumbing ----

  private context(repository: string, operation: string): CallContext {
    assertRepositoryName(repository);
    return { registry: this.registry, repository, operation };
  }

  private url(path: string, context: CallContext): URL {
    return new URL(path, this.transport.baseUrl(this.apiHost, context));
  }

  /** scheme://host[:port] of the registry's API: the one origin our credentials and tokens are sent to. */
  private origin(context: CallContext): string {
    return this.transport.baseUrl(this.apiHost, context).origin;
  }

  private uploadLocation(response: HttpResponse, context: CallContext): URL {
    const location = headerValue(response.headers.location);
    if (location === undefined) throw new CatalogError('REGISTRY_PROTOCOL', `${describe(context)}: the upload response has no Location header`);
    let url: URL;
    try {
      url = new URL(location, response.url);
    } catch {
      throw new CatalogError('REGISTRY_PROTOCOL', `${describe(context)}: the upload Location ${quoteUntrusted(location, 120)} is not a URL`);
    }
    if (url.origin !== this.origin(context)) {
      // A session elsewhere would need our credentials there; refuse rather than leak them or fail oddly.
      throw new CatalogError('REGISTRY_PROTOCOL', `${describe(context)}: the registry sent the upload to another host (${quoteUntrusted(url.host)})`);
    }
    return url;
  }

  private async cancelUpload(location: URL, context: CallContext): Promise<void> {
    try {
      await this.call(context, ['pull', 'push'], { method: 'DELETE', url: location, retryable: false });
    } catch {
      // Best effort: an abandoned session expires on the registry by itself.
    }
  }

  /**
   * Sends one request with the credentials the registry asked for. A 401
   * means our token lacks the scope (or we have none yet): we fetch one for
   * the scope and try once more.
   */
  private async call(
    context: CallContext,
    actions: Action[],
    request: {
      method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
      path?: string;
      url?: URL;
      retryable: boolean;
      maxBytes?: number;
      json?: JsonShapeLimits;
      body?: Buffer;
      headers?: Record<string, string>;
    },
    extraScopes: string[] = [],
  ): Promise<HttpResponse> {
    if (this.challenge === undefined) {
      await this.loadCredentials();
      // Anonymous reads skip the ping: a 401 answer to the request itself carries the same challenge, and
      // the ping would cost a round trip before every first request. With credentials, or a body to send,
      // we ask first, so the credentials go out with the first request and no body is sent twice.
      if (this.credentials !== undefined || (request.method !== 'GET' && request.method !== 'HEAD')) await this.ping();
    }
    const scopes = [repositoryScope(context.repository!, actions), ...extraScopes];
    const url = request.url ?? this.url(request.path!, context);
    if (url.origin !== this.origin(context)) {
      // Credentials and tokens are the registry's: a URL a response handed us (upload session, cancel) must stay on it.
      throw new CatalogError('REGISTRY_PROTOCOL', `${describe(context)}: refused to send the registry's credentials to another host (${quoteUntrusted(url.host)})`);
    }
    const send = async (authorization: string | undefined) =>
      this.transport.send(
        {
          method: request.method,
          url,
          retryable: request.retryable,
          maxBytes: request.maxBytes ?? SMALL_BODY,
          ...(request.json === undefined ? {} : { json: request.json }),
          ...(request.body === undefined ? {} : { body: request.body }),
          headers: request.headers ?? {},
          ...(authorization === undefined ? {} : { authorization }),
        },
        context,
      );
    const learning = this.challenge === undefined;
    let response = await send(await this.authorization(scopes, context, false));
    if (response.status === 401 && learning && this.challenge === undefined) {
      // Sent without a ping: this 401 is the ping's answer. Learn the challenge, then send as after a ping.
      const learned = parseChallenge(headerValue(response.headers['www-authenticate']));
      if (learned === undefined) throw unsupportedChallenge({ registry: this.registry, operation: 'ping' });
      this.challenge = learned;
      response = await send(await this.authorization(scopes, context, false));
    }
    if (response.status !== 401) return response;
    const challenge = parseChallenge(headerValue(response.headers['www-authenticate']));
    if (challenge !== undefined) this.challenge = challenge;
    const extra = challenge?.scheme === 'bearer' ? acceptableChallengeScopes(challenge.scope, scopes) : [];
    const authorization = await this.authorization([...scopes, ...extra], context, true);
    if (authorization === undefined) {
      throw new CatalogError('REGISTRY_UNAUTHORIZED', `${describe(context)}: the registry requires credentials and none were given for ${this.registry}`, {
        hint: `give ${this.options.dockerConfigSetting ?? DEFAULT_DOCKER_CONFIG_SETTING} with an "auths" entry for exactly this host`,
      });
    }
    response = await send(authorization);
    if (response.status === 401) {
      throw new CatalogError('REGISTRY_UNAUTHORIZED', `${describe(context)}: the registry refused our credentials`, {
        hint: 'check the username and password for this registry',
      });
    }
    return response;
  }

  private async authorization(scopes: string[], context: CallContext, refresh: boolean): Promise<string | undefined> {
    const challenge = this.challenge;
    if (challenge === undefined || challenge.scheme === 'none') return undefined;
    await this.loadCredentials();
    if (challenge.scheme === 'basic') {
      if (this.credentials === undefined) return undefined;
      return `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    }
    // A token is the realm's answer for these scopes: another realm or service is another token.
    const key = [challenge.realm, challenge.service ?? '', ...[...new Set(scopes)].sort()].join(' ');
    const cached = this.tokens.get(key);
    if (!refresh && cached !== undefined && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    // Requests sent together (an image's manifest and its signatures) that all got a 401 share one token request.
    let pending = this.pendingTokens.get(key);
    if (pending === undefined) {
      pending = this.fetchToken(challenge, [...new Set(scopes)], context).finally(() => this.pendingTokens.delete(key));
      this.pendingTokens.set(key, pending);
    }
    const token = await pending;
    this.tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  private async fetchToken(challenge: Extract<Challenge, { scheme: 'bearer' }>, scopes: string[], context: CallContext): Promise<{ token: string; expiresAt: number }> {
    const tokenContext: CallContext = { ...context, operation: `${context.operation} (token request)` };
    const realm = parseRealm(challenge.realm, describe(tokenContext));
    if (this.credentials !== undefined) {
      await assertRealmMayReceiveCredentials(realm, [this.apiHost, this.registry], this.realmPolicy, describe(tokenContext));
    }
    if (challenge.service !== undefined) realm.searchParams.append('service', challenge.service);
    for (const scope of scopes) realm.searchParams.append('scope', scope);
    const authorization =
      this.credentials === undefined ? undefined : `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    let response: HttpResponse;
    try {
      response = await this.transport.send(
        { method: 'GET', url: realm, retryable: true, maxBytes: MAX_TOKEN_BODY, json: TOKEN_JSON_LIMITS, ...(authorization === undefined ? {} : { authorization }) },
        tokenContext,
      );
    } catch (error) {
      throw wrapNetworkError(error, tokenContext, 1);
    }
    if (response.status === 401 || response.status === 403) {
      throw new CatalogError('REGISTRY_UNAUTHORIZED', `${describe(tokenContext)}: the token server refused ${this.credentials === undefined ? 'anonymous access' : 'our credentials'}`, {
        hint: 'check the credentials for this registry in the docker config',
      });
    }
    if (response.status !== 200) throw statusError(response, tokenContext);
    const body = parseJson(response, tokenContext) as { token?: unknown; access_token?: unknown; expires_in?: unknown } | null;
    const token = typeof body?.token === 'string' && body.token !== '' ? body.token : body?.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new CatalogError('REGISTRY_PROTOCOL', `${describe(tokenContext)}: the token server's answer holds no token`);
    }
    // It goes into an Authorization header: visible ASCII only, and of a size a header can carry.
    if (token.length > MAX_TOKEN_CHARS || !/^[\x21-\x7e]+$/.test(token)) {
      throw new CatalogError('REGISTRY_PROTOCOL', `${describe(tokenContext)}: the token server's token is not a header-safe string of at most ${MAX_TOKEN_CHARS} characters`);
    }
    // The spec's default lifetime is 60 s; renew a little early, and never trust a lifetime past an hour.
    const claimed = body?.expires_in;
    const lifetime = typeof claimed === 'number' && Number.isFinite(claimed) && claimed > 0 ? Math.min(claimed, MAX_TOKEN_LIFETIME_SECONDS) : 60;
    return { token, expiresAt: Date.now() + Math.max(0, lifetime - 10) * 1000 };
  }

  /** Reads the docker config once; requests sent together all wait for that one read. */
  private loadCredentials(): Promise<void> {
    this.credentialsLoading ??= this.credentialsLoaded
      ? Promise.resolve()
      : credentialsFromDockerConfig(this.options.dockerConfigPath!, this.registry, this.options.dockerConfigSetting).then((credentials) => {
          this.credentials = credentials;
        });
    return this.credentialsLoading;
  }
}

function verifyDigest(bytes: Buffer, expected: Digest, context: CallContext): void {
  const actual = sha256Digest(bytes);
  if (actual !== expected) {
    throw new CatalogError('REGISTRY_DIGEST_MISMATCH', `${describe(context)}: the content hashes to ${actual}, not ${expected}`, {
      hint: 'the content was truncated or altered on the way; it was not used',
    });
  }
}

function withQuery(url: URL, key: string, value: string): URL {
  // Appended by hand: re-serialising the registry's own query (e.g. _state) could change its bytes.
  const text = url.toString();
  return new URL(`${text}${text.includes('?') ? '&' : '?'}${key}=${encodeURIComponent(value)}`);
}

/** Parses a body the transport read under JSON limits; it must be one well-formed JSON value. */
function parseJson(response: HttpResponse, context: CallContext): unknown {
  try {
    if (!response.jsonWellFormed) throw new SyntaxError('not one JSON value');
    return JSON.parse(response.body.toString('utf8'));
  } catch {
    throw new CatalogError('REGISTRY_PROTOCOL', `${describe(context)}: the response is not valid JSON`);
  }
}

function definedLimits(limits: ListLimits): ListLimits {
  const defined: ListLimits = {};
  for (const key of ['maxItems', 'maxPages', 'maxBytes'] as const) {
    const value = limits[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) throw new CatalogError('USAGE_LIST_LIMIT', `list limit ${key} must be a non-negative whole number`);
    defined[key] = value;
  }
  return defined;
}

/** Turns an unexpected status into an error that says what the registry said (escaped). */
function unsupportedChallenge(context: CallContext): CatalogError {
  return new CatalogError('REGISTRY_AUTH_UNSUPPORTED', `${describe(context)}: the registry asked for an authentication scheme this client does not speak`);
}

export function statusError(response: HttpResponse, context: CallContext, attempts = response.attempts): CatalogError {
  const detail = registryErrorDetail(response.body);
  const suffix = detail === '' ? '' : `: ${detail}`;
  const where = describe(context);
  switch (response.status) {
    case 401:
      return new CatalogError('REGISTRY_UNAUTHORIZED', `${where}: authentication required (HTTP 401)${suffix}`);
    case 403:
      return new CatalogError('REGISTRY_DENIED', `${where}: access denied (HTTP 403)${suffix}`, { hint: 'the credentials lack permission for this repository' });
    case 404:
      return new CatalogError('REGISTRY_NOT_FOUND', `${where}: not found (HTTP 404)${suffix}`);
    default:
      if (isRetryableStatus(response.status)) {
        return new CatalogError('REGISTRY_UNAVAILABLE', `${where}: HTTP ${response.status} after ${attempts} attempt${attempts === 1 ? '' : 's'}${suffix}`, {
          hint: 'the registry is overloaded or failing; try again later',
        });
      }
      return new CatalogError('REGISTRY_PROTOCOL', `${where}: unexpected HTTP ${response.status}${suffix}`);
  }
}

function registryErrorDetail(body: Buffer): string {
  if (body.byteLength === 0) return '';
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    if (!Array.isArray(parsed.errors)) return '';
    return parsed.errors
      .slice(0, 3)
      .map((error) => {
        const code = typeof error.code === 'string' && /^[A-Z_]{1,40}$/.test(error.code) ? error.code : 'UNKNOWN';
        return typeof error.message === 'string' ? `${code} ${quoteUntrusted(error.message, 120)}` : code;
      })
      .join('; ');
  } catch {
    return '';
  }
}
