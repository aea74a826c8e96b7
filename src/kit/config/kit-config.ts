import { isIPv4, isIPv6 } from 'node:net';
import { parseDocument } from 'yaml';
import * as z from '../../zod.ts';
import { CatalogError, quoteUntrusted } from '../../errors.ts';

/**
 * The kit's configuration file (kit.yaml): what a platform team knows and
 * the Pipeline does not. The namespace the pipelines run in, the values of
 * Pipeline params that name Secrets (for RBAC resourceNames), where the
 * TaskRun pods may connect (registries, package proxies, git servers, DNS,
 * the Kubernetes API), how Tekton Chains signs, and where the Prometheus
 * Operator picks up alert rules. Every field is checked, unknown ones are
 * errors, and every error names the field, the rule and what to write.
 */

const dnsLabel = z.string().check(z.regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS-1123 label: lower-case letters, digits and "-", at most 63'));

/** An IPv4 or IPv6 CIDR, in its canonical network form, never everything. */
const cidr = z.string().check(
  z.superRefine((value, context) => {
    const slash = value.indexOf('/');
    const address = slash < 0 ? '' : value.slice(0, slash);
    const prefix = slash < 0 ? NaN : Number(value.slice(slash + 1));
    const v4 = isIPv4(address);
    const v6 = isIPv6(address);
    if (!(v4 || v6) || !/^\d{1,3}$/.test(value.slice(slash + 1)) || prefix > (v4 ? 32 : 128)) {
      context.addIssue({ code: 'custom', message: 'must be a CIDR such as 10.0.50.0/24 or fd00::/64 (address/prefix length)' });
      return;
    }
    if (prefix === 0) context.addIssue({ code: 'custom', message: 'allows every address; name the networks the pods need instead' });
    if (v4 && !networkAligned(address, prefix)) context.addIssue({ code: 'custom', message: `is not a network address for /${prefix}: write the network it starts (host bits zero)` });
  }),
);

function networkAligned(ipv4: string, prefix: number): boolean {
  const value = ipv4.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const hostBits = 32 - prefix;
  return hostBits === 0 || value % 2 ** hostBits === 0;
}

const port = z.int().check(z.gte(1), z.lte(65535));
const labels = z.record(z.string(), z.string());
const httpsUrl = z.url({ protocol: /^https$/ });

export const DestinationSchema = z.strictObject({
  /** For people and comments in the policy. */
  name: dnsLabel,
  cidrs: z.array(cidr).check(z.minLength(1)),
  ports: z._default(z.array(port).check(z.minLength(1)), [443]),
});

/** A destination inside the cluster (a Pushgateway, a CloudEvents broker): its namespace and pod labels. */
export const InClusterDestinationSchema = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel,
  podLabels: labels.check(z.refine((podLabels) => Object.keys(podLabels).length > 0, 'name at least one label: without, every pod of the namespace is allowed')),
  ports: z.array(port).check(z.minLength(1)),
});

export const KitConfigSchema = z.strictObject({
  /** The namespace the Pipeline's runs (and its service accounts and egress policy) live in. */
  namespace: dnsLabel,
  /** Values for Pipeline params that name the Secrets tasks read, when the Pipeline has no default for them. */
  params: z._default(z.record(z.string().check(z.regex(/^[a-zA-Z_][a-zA-Z0-9_-]*$/, 'must be a param name')), z.string().check(z.maxLength(253))), {}),
  egress: z.strictObject({
    /** Container registries the steps pull from and push to (and where signatures are). */
    registries: z._default(z.array(DestinationSchema), []),
    /** Package proxies (Nexus, Artifactory, an npm or Go proxy). */
    packageProxies: z._default(z.array(DestinationSchema), []),
    /** Git servers the clone task fetches from. */
    gitServers: z._default(z.array(DestinationSchema), []),
    /** In-cluster collectors the gates report to: the Pushgateway of pushgateway-url, the CloudEvents sink. */
    collectors: z._default(z.array(InClusterDestinationSchema), []),
    /** The cluster DNS, for name lookups: UDP and TCP 53 to these pods. */
    dns: z._default(
      z.strictObject({
        namespace: z._default(dnsLabel, 'kube-system'),
        podLabels: z._default(labels, { 'k8s-app': 'kube-dns' }),
        ports: z._default(z.array(port).check(z.minLength(1)), [53]),
      }),
      { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' }, ports: [53] },
    ),
    /**
     * The API server's endpoints (`kubectl get endpoints kubernetes -n default`), needed only
     * by tasks that read Secrets from the API. NetworkPolicies see the endpoint after the
     * service is translated, so give the endpoint addresses and port (often 6443), not the
     * service IP.
     */
    kubernetesApi: z.optional(z.strictObject({ cidrs: z.array(cidr).check(z.minLength(1)), port })),
  }),
  chains: z
    ._default(
      z.strictObject({
        /** keyless: Fulcio certificates from the controller's OIDC token; key: the `signing-secrets` cosign key; kms: a KMS key. */
        signer: z._default(z.enum(['keyless', 'key', 'kms']), 'keyless'),
        kmsRef: z.optional(z.string().check(z.minLength(1))),
        fulcioUrl: z._default(httpsUrl, 'https://fulcio.sigstore.dev'),
        oidcIssuer: z._default(httpsUrl, 'https://oauth2.sigstore.dev/auth'),
        rekorUrl: z._default(httpsUrl, 'https://rekor.sigstore.dev'),
        /** Where attestations and signatures go; empty: beside each image. */
        ociRepository: z.optional(z.string().check(z.regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/, 'must be registry/repository'))),
        builderId: z.optional(httpsUrl),
      }),
      { signer: 'keyless', fulcioUrl: 'https://fulcio.sigstore.dev', oidcIssuer: 'https://oauth2.sigstore.dev/auth', rekorUrl: 'https://rekor.sigstore.dev' },
    )
    .check(z.refine((chains) => (chains.signer === 'kms') === (chains.kmsRef !== undefined), { message: 'kmsRef is required with signer kms, and only then', path: ['kmsRef'] })),
  observability: z._default(
    z.strictObject({
      /** Where Tekton Pipelines is installed (config-observability lives there). */
      tektonNamespace: z._default(dnsLabel, 'tekton-pipelines'),
      /** Where Chains is installed (chains-config lives there). */
      chainsNamespace: z._default(dnsLabel, 'tekton-chains'),
      /** Where the PrometheusRule goes, and the labels the Prometheus `ruleSelector` wants. */
      ruleNamespace: z._default(dnsLabel, 'monitoring'),
      ruleLabels: z._default(labels, {}),
      /** Alert when a TaskRun's p99 duration is this many times its usual p99. */
      durationSpikeFactor: z._default(z.number().check(z.gte(1.5), z.lte(100)), 3),
      /** Alert on runs of these Pipelines (a RE2 regex on the pipeline label) outside approved hours (UTC, [from, to)). */
      production: z.optional(
        z
          .strictObject({
            pipelines: z.string().check(z.minLength(1), z.maxLength(256)),
            approvedHoursUtc: z.strictObject({ from: z.int().check(z.gte(0), z.lte(23)), to: z.int().check(z.gte(1), z.lte(24)) }),
          })
          .check(z.refine((production) => production.approvedHoursUtc.from < production.approvedHoursUtc.to, { message: 'from must be before to', path: ['approvedHoursUtc'] })),
      ),
    }),
    { tektonNamespace: 'tekton-pipelines', chainsNamespace: 'tekton-chains', ruleNamespace: 'monitoring', ruleLabels: {}, durationSpikeFactor: 3 },
  ),
});

export type KitConfig = z.output<typeof KitConfigSchema>;
export type KitConfigInput = z.input<typeof KitConfigSchema>;
export type Destination = z.output<typeof DestinationSchema>;
export type InClusterDestination = z.output<typeof InClusterDestinationSchema>;

/** Files larger than this are not a kit config. */
const MAX_CONFIG_BYTES = 256 * 1024;

function path(issuePath: readonly PropertyKey[]): string {
  return issuePath.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('').replace(/^\./, '') || '(the file)';
}

/** Checks a parsed config; every problem is named by its field. */
export function parseKitConfig(value: unknown, where: string): KitConfig {
  const parsed = KitConfigSchema.safeParse(value);
  if (parsed.success) {
    const destinations = [...parsed.data.egress.registries, ...parsed.data.egress.packageProxies, ...parsed.data.egress.gitServers, ...parsed.data.egress.collectors];
    const seen = new Set<string>();
    for (const destination of destinations) {
      if (seen.has(destination.name)) {
        throw new CatalogError('CONFIG_KIT_INVALID', `${where}: egress destination ${quoteUntrusted(destination.name)} is named twice`, { hint: 'give every registry, package proxy, git server and collector its own name' });
      }
      seen.add(destination.name);
    }
    return parsed.data;
  }
  const lines = parsed.error.issues.slice(0, 20).map((issue) => {
    const unknown = issue.code === 'unrecognized_keys' ? ` (unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => quoteUntrusted(key, 40)).join(', ')})` : '';
    return `  ${path(issue.path)}: ${issue.code === 'unrecognized_keys' ? 'is not a kit setting' : issue.message}${unknown}`;
  });
  throw new CatalogError('CONFIG_KIT_INVALID', `${where} is not a valid kit configuration:\n${lines.join('\n')}`, {
    hint: 'see the kit configuration in the README (Harden a namespace with the kit); a commented example is catalog/pipeline/secure-build/<version>/kit/kit.yaml',
  });
}

/** Reads kit.yaml text (YAML or JSON), bounded, with positions for syntax errors. */
export function readKitConfig(text: string, where: string): KitConfig {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new CatalogError('CONFIG_KIT_INVALID', `${where} is larger than ${MAX_CONFIG_BYTES} bytes`, { hint: 'a kit configuration is a few lines' });
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    const at = first.linePos?.[0] ? ` at line ${first.linePos[0].line}, column ${first.linePos[0].col}` : '';
    throw new CatalogError('CONFIG_KIT_INVALID', `${where} is not valid YAML${at}: ${first.code}`, { hint: 'fix the YAML syntax at that position' });
  }
  return parseKitConfig(document.toJS(), where);
}
