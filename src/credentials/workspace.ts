import { createHash } from 'node:crypto';
import { lstat, mkdir } from 'node:fs/promises';
import { quoteUntrusted } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { CredentialsError, CredentialsErrorCode, describeSystemError, systemErrorCode } from './errors.ts';
import { displayName, Folder } from './folder.ts';
import { EXPIRES_AT_PATH, MANIFEST_PATH, parseCredentialsMarker, type CredentialsMarker } from './marker.ts';
import { OutputPaths, type PlannedFile } from './plan.ts';
import type { LoadedSecret } from './secret.ts';
import { DIGEST_PATTERN, isVolumeLostFound, LOST_FOUND, readWorkspaceState, stateDigest, stateLine, StateProblem, type StateEntry } from './state.ts';

/**
 * The credentials workspace as the injector sees it.
 *
 * Nothing found in it is trusted on its own word. An injection writes only
 * into an empty workspace (a root-owned lost+found aside), or into one whose
 * every entry matches the `previous-injection-digest` param: the
 * `injection-digest` result of the injection before, which Tekton carries
 * from TaskRun to TaskRun and which no task sharing the workspace can forge.
 * A marker that lists planted files therefore vouches for nothing.
 *
 * Folders are created 0700 and files 0400, owned by the step user, each file
 * written atomically through its folder's descriptor. Afterwards the whole
 * workspace is read back from disk and must be exactly what was there plus
 * what was written; its digest is the `injection-digest` result.
 */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o400;

/** The Task param and result, named in every message a pipeline author may see. */
export const PREVIOUS_DIGEST_PARAM = 'previous-injection-digest';
export const DIGEST_RESULT = 'injection-digest';

export interface WrittenFile {
  readonly path: string;
  readonly sha256: string;
}

export interface InjectionWrite {
  readonly written: WrittenFile[];
  /** sha256:<hex> of the workspace as it was read back after writing. */
  readonly digest: string;
}

export interface OpenOptions {
  /** The injection-digest result of the previous injection into this workspace; empty for a fresh one. */
  readonly previousDigest?: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const currentUid = (): number => process.getuid?.() ?? -1;
const STATE_FILES = new Set([MANIFEST_PATH, EXPIRES_AT_PATH]);

const PIPELINE_HINT =
  `bind the credentials workspace only to inject-credentials and the tasks that use the credentials, run cleanup in finally, and give every PipelineRun a fresh volume (emptyDir, or a volumeClaimTemplate)`;

export class CredentialsWorkspace {
  readonly root: string;
  /** The previous injection's marker, trusted because the workspace matched its digest. */
  readonly existing: CredentialsMarker | undefined;
  private readonly baseline: readonly StateEntry[];

  private constructor(root: string, existing: CredentialsMarker | undefined, baseline: readonly StateEntry[]) {
    this.root = root;
    this.existing = existing;
    this.baseline = baseline;
  }

  static async open(root: string, now: Date = new Date(), options: OpenOptions = {}): Promise<CredentialsWorkspace> {
    const previousDigest = options.previousDigest ?? '';
    if (previousDigest !== '' && !DIGEST_PATTERN.test(previousDigest)) {
      throw new CredentialsError(
        CredentialsErrorCode.input,
        `${PREVIOUS_DIGEST_PARAM} ${quoteUntrusted(previousDigest)} is not sha256:<64 lower-case hex digits>`,
        { hint: `pass the ${DIGEST_RESULT} result of the earlier inject-credentials task unchanged: ${PREVIOUS_DIGEST_PARAM}: $(tasks.<that task>.results.${DIGEST_RESULT}), or leave it empty for a fresh workspace` },
      );
    }
    const folder = await openRoot(root);
    try {
      if (previousDigest === '') {
        await assertEmpty(folder);
        return new CredentialsWorkspace(root, undefined, await readEmptyState(folder));
      }
      let state;
      try {
        state = await readWorkspaceState(folder, [MANIFEST_PATH]);
      } catch (error) {
        if (!(error instanceof StateProblem)) throw error;
        throw tampered(previousDigest, `it cannot be what an injection left: ${error.message}`, false);
      }
      const actual = stateDigest(state.entries);
      if (actual !== previousDigest) {
        const differences = explainDifference(state.entries, state.kept.get(MANIFEST_PATH));
        throw tampered(previousDigest, `it is ${actual}: ${summarise(differences.lines)}`, differences.fsGroupLike);
      }
      const bytes = state.kept.get(MANIFEST_PATH);
      if (!bytes) {
        throw markerInvalid(`the workspace matches ${PREVIOUS_DIGEST_PARAM} but holds no ${MANIFEST_PATH}; that digest is not an ${DIGEST_RESULT} result`);
      }
      const status = parseCredentialsMarker(bytes, now);
      const inconsistent = compareWithMarker(state.entries, status.marker);
      if (inconsistent.length > 0) {
        throw markerInvalid(`${MANIFEST_PATH} does not describe the workspace it is in: ${summarise(inconsistent)}`);
      }
      if (status.expired) {
        throw new CredentialsError(
          CredentialsErrorCode.expired,
          `the credentials workspace holds credentials that expired at ${status.marker.expiresAt}`,
          { violation: true, hint: 'run inject-credentials with mode cleanup (in the Pipeline\'s finally) so credentials never outlive their run' },
        );
      }
      return new CredentialsWorkspace(root, status.marker, state.entries);
    } finally {
      await folder.close();
    }
  }

  /**
   * Writes the manifest first (so even a half-finished injection names every
   * path it meant to write), then each file; then reads the whole workspace
   * back and checks it is what was there plus what was written.
   */
  async write(files: readonly PlannedFile[], secret: LoadedSecret, expiresAt: Date, now: Date = new Date()): Promise<InjectionWrite> {
    const taken = new Set((this.existing?.files ?? []).map((file) => file.path));
    for (const file of files) {
      if (taken.has(file.path)) {
        throw new CredentialsError(
          CredentialsErrorCode.input,
          `${file.path} was already written by an earlier injection into this workspace`,
          { hint: 'inject one Secret per output kind (e.g. one dockerconfigjson Secret holding every registry)' },
        );
      }
    }
    const written: WrittenFile[] = files.map((file) => ({ path: file.path, sha256: sha256Hex(file.content) }));
    const previousExpiry = this.existing ? new Date(this.existing.expiresAt) : undefined;
    const effectiveExpiry = previousExpiry && previousExpiry < expiresAt ? previousExpiry : expiresAt;
    const marker: CredentialsMarker = {
      version: 1,
      writtenAt: now.toISOString(),
      expiresAt: effectiveExpiry.toISOString(),
      secrets: [...(this.existing?.secrets ?? []), { label: secret.label, type: secret.type, source: secret.source }],
      files: [...(this.existing?.files ?? []), ...written],
    };
    const outputs: PlannedFile[] = [
      { path: MANIFEST_PATH, content: Buffer.from(`${JSON.stringify(marker, null, 2)}\n`, 'utf8') },
      { path: EXPIRES_AT_PATH, content: Buffer.from(`${marker.expiresAt}\n`, 'utf8') },
      ...files,
    ];
    const root = await openRoot(this.root);
    try {
      for (const output of outputs) await writeOne(root, output);
      let after;
      try {
        after = await readWorkspaceState(root);
      } catch (error) {
        if (!(error instanceof StateProblem)) throw error;
        throw changedWhileWriting([error.message]);
      }
      const problems = this.checkAfterWrite(after.entries, outputs);
      if (problems.length > 0) throw changedWhileWriting(problems);
      return { written, digest: stateDigest(after.entries) };
    } finally {
      await root.close();
    }
  }

  /** The workspace after writing must be the baseline, unchanged, plus the outputs and their folders, as written. */
  private checkAfterWrite(after: readonly StateEntry[], outputs: readonly PlannedFile[]): string[] {
    const uid = currentUid();
    const expectedFiles = new Map(outputs.map((output) => [output.path, sha256Hex(output.content)]));
    const expectedDirs = new Set(outputs.flatMap((output) => ancestors(output.path)));
    const baseline = new Map(this.baseline.map((entry) => [entry.path, entry]));
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const entry of after) {
      seen.add(entry.path);
      const sha256 = expectedFiles.get(entry.path);
      const before = baseline.get(entry.path);
      if (sha256 !== undefined) {
        problems.push(...ourFileProblems(entry, uid, sha256));
      } else if (expectedDirs.has(entry.path)) {
        problems.push(...ourDirProblems(entry, uid));
      } else if (before) {
        if (stateLine(before) !== stateLine(entry)) problems.push(`${quoteUntrusted(entry.path)} changed`);
      } else {
        problems.push(`${quoteUntrusted(entry.path)} (${describeType(entry)}) appeared`);
      }
    }
    for (const path of [...expectedFiles.keys(), ...expectedDirs, ...baseline.keys()]) {
      if (!seen.has(path)) problems.push(`${quoteUntrusted(path)} vanished`);
    }
    return [...new Set(problems)];
  }
}

async function openRoot(root: string): Promise<Folder> {
  try {
    return await Folder.open(root);
  } catch (error) {
    const code = systemErrorCode(error);
    if (code === 'ENOTDIR' || code === 'ELOOP') {
      throw new CredentialsError(CredentialsErrorCode.workspaceInvalid, 'the credentials workspace path is not a folder (or is a symbolic link)', {
        hint: 'bind the credentials workspace to a volume (emptyDir or a volumeClaimTemplate)',
      });
    }
    throw new CredentialsError(CredentialsErrorCode.workspaceInvalid, `the credentials workspace cannot be opened: ${describeSystemError(error)}`, {
      hint: 'bind the credentials workspace to a fresh volume (emptyDir, or a volumeClaimTemplate across the tasks of a Pipeline)',
    });
  }
}

/** The baseline of an empty workspace: nothing, or the volume's lost+found. */
async function readEmptyState(folder: Folder): Promise<readonly StateEntry[]> {
  try {
    return (await readWorkspaceState(folder)).entries;
  } catch (error) {
    if (!(error instanceof StateProblem)) throw error;
    throw notEmpty([], false, error.message);
  }
}

/** Empty, or holding only the volume's own lost+found (and that one empty when the step can look inside). */
async function assertEmpty(folder: Folder): Promise<void> {
  const { names, more } = await folder.firstNames(6);
  const foreign: Buffer[] = [];
  for (const name of names) {
    if (name.toString() === LOST_FOUND && (await isEmptyLostFound(folder, name))) continue;
    foreign.push(name);
  }
  if (foreign.length > 0 || more) throw notEmpty(foreign, more);
}

async function isEmptyLostFound(folder: Folder, name: Buffer): Promise<boolean> {
  const info = await lstat(folder.child(name)).catch(() => undefined);
  if (!info || !isVolumeLostFound(0, name, info)) return false;
  let inside: Folder;
  try {
    inside = await folder.openFolder(name);
  } catch (error) {
    return systemErrorCode(error) === 'EACCES';
  }
  try {
    return (await inside.firstNames(1)).names.length === 0;
  } finally {
    await inside.close();
  }
}

function notEmpty(names: readonly Buffer[], more: boolean, detail?: string): CredentialsError {
  const shown = names.slice(0, 5).map((name) => quoteUntrusted(displayName(name))).join(', ');
  const looksInjected = names.some((name) => name.toString() === OutputPaths.stateDir);
  return new CredentialsError(
    CredentialsErrorCode.workspaceNotEmpty,
    `the credentials workspace is not empty (${detail ?? `${shown}${more || names.length > 5 ? ', …' : ''}`}) and ${PREVIOUS_DIGEST_PARAM} is empty: inject-credentials writes only into an empty workspace, or one that matches the digest the previous injection returned`,
    {
      violation: true,
      hint: looksInjected
        ? `if an earlier inject-credentials task in this Pipeline filled it, pass its result: ${PREVIOUS_DIGEST_PARAM}: $(tasks.<that task>.results.${DIGEST_RESULT}); otherwise ${PIPELINE_HINT}`
        : PIPELINE_HINT,
    },
  );
}

function tampered(previousDigest: string, detail: string, fsGroupLike: boolean): CredentialsError {
  const fsGroup = fsGroupLike
    ? '; only group bits differ, which is what the kubelet does on every mount when the pod sets securityContext.fsGroup: set fsGroupChangePolicy: OnRootMismatch (or no fsGroup) for the Pipeline\'s pods'
    : '';
  return new CredentialsError(
    CredentialsErrorCode.workspaceTampered,
    `the credentials workspace is not what the injection with ${PREVIOUS_DIGEST_PARAM} ${previousDigest} left: ${detail}`,
    {
      violation: true,
      hint: `${PREVIOUS_DIGEST_PARAM} must be the ${DIGEST_RESULT} result of the most recent inject-credentials task that wrote to this workspace; if it is, a task that shares the workspace changed it: ${PIPELINE_HINT}${fsGroup}`,
    },
  );
}

function markerInvalid(message: string): CredentialsError {
  return new CredentialsError(CredentialsErrorCode.markerInvalid, message, {
    violation: true,
    hint: `only inject-credentials writes .inject-credentials/; run cleanup, then inject into the empty workspace with an empty ${PREVIOUS_DIGEST_PARAM}`,
  });
}

function changedWhileWriting(problems: readonly string[]): CredentialsError {
  return new CredentialsError(
    CredentialsErrorCode.workspaceForeign,
    `the credentials workspace changed while inject-credentials wrote to it: ${summarise(problems)}`,
    { violation: true, hint: `another task writes to the credentials workspace at the same time; ${PIPELINE_HINT}` },
  );
}

function summarise(lines: readonly string[]): string {
  return `${lines.slice(0, 5).join('; ')}${lines.length > 5 ? `; and ${lines.length - 5} more` : ''}`;
}

function ancestors(path: string): string[] {
  const segments = path.split('/');
  return segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join('/'));
}

function describeType(entry: StateEntry): string {
  const names: Record<StateEntry['type'], string> = {
    dir: 'a folder',
    file: 'a file',
    symlink: 'a symbolic link',
    fifo: 'a FIFO',
    socket: 'a socket',
    'char-device': 'a character device',
    'block-device': 'a block device',
    unknown: 'an unknown kind of entry',
  };
  return names[entry.type];
}

const octal = (mode: number) => `0${mode.toString(8).padStart(3, '0')}`;

/** `sha256` undefined: the content is not known in advance (the marker files, when comparing with the marker). */
function ourFileProblems(entry: StateEntry, uid: number, sha256: string | undefined): string[] {
  const path = quoteUntrusted(entry.path);
  if (entry.type !== 'file') return [`${path} is ${describeType(entry)}, not a file`];
  const problems: string[] = [];
  if (sha256 !== undefined && entry.sha256 !== sha256) problems.push(`${path} changed`);
  if (entry.mode !== FILE_MODE) problems.push(`${path} is mode ${octal(entry.mode)}, not ${octal(FILE_MODE)}`);
  if (entry.uid !== uid) problems.push(`${path} is owned by uid ${entry.uid}`);
  if (entry.nlink !== 1) problems.push(`${path} has ${entry.nlink} hard links`);
  return problems;
}

function ourDirProblems(entry: StateEntry, uid: number): string[] {
  const path = quoteUntrusted(entry.path);
  if (entry.type !== 'dir') return [`${path} is ${describeType(entry)}, not a folder`];
  const problems: string[] = [];
  if (entry.mode !== DIR_MODE) problems.push(`${path} is mode ${octal(entry.mode)}, not ${octal(DIR_MODE)}`);
  if (entry.uid !== uid) problems.push(`${path} is owned by uid ${entry.uid}`);
  return problems;
}

/**
 * How a workspace differs from what its marker lists. Used to say what
 * changed when the digest does not match (the marker is then a hint, not
 * evidence), and, once the digest matched, to check the marker describes
 * the workspace it is in.
 */
export function compareWithMarker(entries: readonly StateEntry[], marker: CredentialsMarker | undefined): string[] {
  const uid = currentUid();
  const listed = new Map((marker?.files ?? []).map((file) => [file.path, file.sha256]));
  const dirs = new Set([OutputPaths.stateDir, ...[...listed.keys(), ...STATE_FILES].flatMap(ancestors)]);
  const present = new Set<string>();
  const lines: string[] = [];
  for (const entry of entries) {
    present.add(entry.path);
    if (entry.path === LOST_FOUND && entry.type === 'dir' && entry.uid === 0 && entry.mode === 0o700) continue;
    const sha256 = listed.get(entry.path);
    if (sha256 !== undefined) {
      lines.push(...ourFileProblems(entry, uid, sha256));
    } else if (STATE_FILES.has(entry.path)) {
      lines.push(...ourFileProblems(entry, uid, undefined));
    } else if (dirs.has(entry.path)) {
      lines.push(...ourDirProblems(entry, uid));
    } else {
      lines.push(`added ${quoteUntrusted(entry.path)} (${describeType(entry)})`);
    }
  }
  for (const path of listed.keys()) if (!present.has(path)) lines.push(`removed ${quoteUntrusted(path)}`);
  if (marker && !present.has(EXPIRES_AT_PATH)) lines.push(`removed ${quoteUntrusted(EXPIRES_AT_PATH)}`);
  return lines;
}

function explainDifference(entries: readonly StateEntry[], markerBytes: Buffer | undefined): { lines: string[]; fsGroupLike: boolean } {
  let marker: CredentialsMarker | undefined;
  let markerProblem: string | undefined;
  if (!markerBytes) {
    markerProblem = entries.some((entry) => entry.path === MANIFEST_PATH) ? `${MANIFEST_PATH} is not a regular file` : `${MANIFEST_PATH} is missing`;
  } else {
    try {
      marker = parseCredentialsMarker(markerBytes).marker;
    } catch (error) {
      markerProblem = error instanceof Error ? error.message : 'the marker is invalid';
    }
  }
  const lines = compareWithMarker(entries, marker);
  const fsGroupLike = !markerProblem && lines.length > 0 && lines.every((line) => line.includes(' is mode ')) && groupBitsOnly(entries);
  if (markerProblem) lines.unshift(markerProblem);
  if (lines.length === 0) {
    lines.push(
      `no entry differs from what ${MANIFEST_PATH} lists in path, type, content, mode, owner or link count: the marker was rewritten to match, a group owner changed, or the digest is not the most recent injection's`,
    );
  }
  return { lines, fsGroupLike };
}

/** True when every mode differs from ours only by group bits (and setgid on folders): the kubelet's fsGroup handling. */
function groupBitsOnly(entries: readonly StateEntry[]): boolean {
  return entries.every((entry) => {
    if (entry.path === LOST_FOUND) return true;
    if (entry.type === 'dir') return (entry.mode & ~0o2070) === DIR_MODE;
    if (entry.type === 'file') return (entry.mode & ~0o070) === FILE_MODE;
    return false;
  });
}

/** Creates the output's folders 0700 through descriptors, then writes the file atomically inside the last one. */
async function writeOne(root: Folder, output: PlannedFile): Promise<void> {
  const segments = output.path.split('/');
  const uid = currentUid();
  let folder = root;
  try {
    for (const [index, segment] of segments.slice(0, -1).entries()) {
      const forPath = segments.slice(0, index + 1).join('/');
      try {
        await mkdir(folder.child(segment), { mode: DIR_MODE });
      } catch (error) {
        if (systemErrorCode(error) !== 'EEXIST') {
          throw new CredentialsError(
            CredentialsErrorCode.writeFailed,
            `cannot create the folder ${forPath} in the credentials workspace: ${describeSystemError(error)}`,
            { hint: 'the credentials workspace must be writable by the step user (65532)' },
          );
        }
      }
      let next: Folder;
      try {
        next = await folder.openFolder(segment);
      } catch (error) {
        throw new CredentialsError(
          CredentialsErrorCode.workspaceForeign,
          `something other than a folder (${describeSystemError(error)}) sits where the folder ${forPath} goes`,
          { violation: true, hint: PIPELINE_HINT },
        );
      }
      if (folder !== root) await folder.close();
      folder = next;
      const info = await folder.stat();
      if (info.uid !== uid) {
        throw new CredentialsError(CredentialsErrorCode.workspaceForeign, `the folder ${forPath} is owned by uid ${info.uid}, not by the step user`, {
          violation: true,
          hint: PIPELINE_HINT,
        });
      }
      await folder.chmod(DIR_MODE);
    }
    try {
      await writeFileAtomic(folder.child(segments.at(-1)!).toString(), output.content, { mode: FILE_MODE, createDirs: false });
    } catch (error) {
      throw new CredentialsError(
        CredentialsErrorCode.writeFailed,
        `cannot write ${output.path} in the credentials workspace: ${describeSystemError(error)}`,
        { hint: 'the credentials workspace must be writable by the step user (65532) and have room (emptyDir medium: Memory counts against the pod\'s memory limit)' },
      );
    }
  } finally {
    if (folder !== root) await folder.close();
  }
}
