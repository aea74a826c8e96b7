/**
 * Naming rules Kubernetes and Tekton apply. Each returns undefined when the
 * name is fine, or the broken rule as a sentence for a diagnostic.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Tekton's param names: dots are allowed, but then only bracket references reach them. */
const PARAM_NAME = /^[a-zA-Z_][a-zA-Z0-9_.-]*$/;
/** Tekton's result names. */
const RESULT_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
/** Kubernetes label values (may be empty). */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export function dns1123LabelProblem(name: string): string | undefined {
  if (name.length > 63) return 'must be a DNS-1123 label of at most 63 characters';
  if (!DNS1123_LABEL.test(name)) {
    return 'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit';
  }
  return undefined;
}

export function dns1123SubdomainProblem(name: string): string | undefined {
  if (name.length > 253) return 'must be a DNS-1123 subdomain of at most 253 characters';
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return 'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

export function paramNameProblem(name: string): string | undefined {
  return PARAM_NAME.test(name)
    ? undefined
    : 'must start with a letter or "_" and hold only letters, digits, "_", "-" and "."';
}

export function resultNameProblem(name: string): string | undefined {
  return RESULT_NAME.test(name)
    ? undefined
    : 'must hold only letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
}

/** A label or annotation key: `[prefix/]name`, prefix a DNS subdomain, name ≤ 63. */
export function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'must be a qualified name: an optional DNS subdomain prefix and "/", then a name';
  const name = parts[parts.length - 1]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix.length === 0 || dns1123SubdomainProblem(prefix)) return 'has a prefix that is not a DNS-1123 subdomain';
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME_PART.test(name)) {
    return 'must have a name part of at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return 'must be a label value of at most 63 characters';
  return LABEL_VALUE.test(value)
    ? undefined
    : 'must be empty or letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
}
