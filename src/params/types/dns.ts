import type { TypeValidator } from './validator.ts';

const LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

/** An RFC 1123 label, as Kubernetes uses for most names: lower case, 1–63 characters. */
export function dnsLabel(): TypeValidator {
  return {
    maxLength: 63,
    shell: 'word',
    check: (value) =>
      LABEL.test(value)
        ? undefined
        : 'must be a DNS label: 1-63 lower-case letters, digits and "-", starting and ending with a letter or digit',
  };
}

/** A DNS-1123 subdomain: Kubernetes object names (ConfigMaps, Secrets, namespaces' objects). */
export function k8sName(): TypeValidator {
  return {
    maxLength: 253,
    shell: 'word',
    check: (value) =>
      value.split('.').every((label) => label.length <= 63 && LABEL.test(label))
        ? undefined
        : 'must be a Kubernetes name (DNS-1123 subdomain): up to 253 characters, dot-separated labels of lower-case letters, digits and "-"',
  };
}
