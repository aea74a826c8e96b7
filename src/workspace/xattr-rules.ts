import { Rule } from './findings.ts';
import type { Xattr } from './xattrs.ts';

/**
 * Which extended attributes police refuses. Every attribute the walk sees
 * is sealed and compared (security.selinux excepted, see xattrs.ts); these
 * rules are about what an attribute grants on its own:
 *
 * - `security.capability` gives a program privileges when it runs, as
 *   setuid does (`file-capability`).
 * - POSIX ACLs (`system.posix_acl_access`, `system.posix_acl_default`) can
 *   grant users and groups more than the mode shows, and a default ACL sets
 *   what new files get. Linux stores no access ACL that merely repeats the
 *   mode, so any stored one is refused (`acl`).
 * - An NFSv4 ACL (`system.nfs4_acl`) is listed on every file of an NFSv4
 *   volume whose server supports ACLs, synthesised from the mode. It is
 *   refused only when an entry names a principal other than OWNER@, GROUP@
 *   or EVERYONE@, or when it cannot be decoded (`acl`).
 * - Any other `system.*` attribute is access-control metadata the kernel or
 *   a file system interprets and this guard cannot evaluate: refused
 *   (`system-xattr`), since unknown means no.
 * - `user.*`, `trusted.*` and the other `security.*` labels (IMA, EVM,
 *   Smack, AppArmor) grant nothing by themselves: sealed and compared only.
 */
export interface XattrViolation {
  rule: Rule;
  detail: string;
}

const POSIX_ACLS = new Set(['system.posix_acl_access', 'system.posix_acl_default']);
const NFS4_ACL = 'system.nfs4_acl';
const SPECIAL_PRINCIPALS = new Set(['OWNER@', 'GROUP@', 'EVERYONE@']);

export function xattrViolation(xattr: Xattr): XattrViolation | undefined {
  const name = xattr.name;
  if (name === 'security.capability') return { rule: Rule.fileCapability, detail: 'security.capability grants privileges when the file runs' };
  if (!name.startsWith('system.')) return undefined;
  if (POSIX_ACLS.has(name)) {
    return {
      rule: Rule.acl,
      detail: name.endsWith('default') ? 'a default POSIX ACL decides what new files get' : 'a POSIX ACL can grant more than the mode shows',
    };
  }
  if (name === NFS4_ACL) {
    const why = nfs4AclProblem(xattr.value);
    return why ? { rule: Rule.acl, detail: `NFSv4 ACL ${why}` } : undefined;
  }
  return { rule: Rule.systemXattr, detail: 'a system attribute this guard cannot evaluate' };
}

/**
 * Reads an NFSv4 ACL as the Linux client exposes it (XDR: a count, then per
 * entry type, flags, access mask and the principal as a length-prefixed,
 * 4-byte padded string). Returns why it is refused, or undefined.
 */
export function nfs4AclProblem(value: Buffer | undefined): string | undefined {
  if (!value) return 'cannot be read';
  if (value.length < 4) return 'cannot be decoded';
  const count = value.readUInt32BE(0);
  // Each entry takes at least 16 bytes: a count beyond that is a lie.
  if (count > (value.length - 4) / 16) return 'cannot be decoded';
  let offset = 4;
  for (let i = 0; i < count; i++) {
    if (offset + 16 > value.length) return 'cannot be decoded';
    const length = value.readUInt32BE(offset + 12);
    const start = offset + 16;
    const end = start + length;
    if (end > value.length) return 'cannot be decoded';
    const who = value.toString('latin1', start, end);
    if (!SPECIAL_PRINCIPALS.has(who)) return 'grants access to a named user or group';
    offset = start + Math.ceil(length / 4) * 4;
  }
  if (offset !== value.length) return 'cannot be decoded';
  return undefined;
}
