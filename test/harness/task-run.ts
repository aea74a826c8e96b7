/**
 * Runs a catalog TaskRun's steps in their real images, the way Tekton's pod
 * would run them as far as one machine can show it (container.ts says what
 * is emulated). Per step: Tekton's variable substitution
 * (tekton-substitution.ts), exactly the YAML's `command` + `args` (a step
 * without a command fails: the harness never reads the image's Entrypoint,
 * as only a registry lookup by Tekton's controller would), the pod's
 * volumes, then what Tekton's entrypoint does after the program exits: read
 * the declared results from /tekton/results and write the termination
 * message, which must fit (src/tekton/termination-message.ts).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeTerminationMessage,
  MAX_CONTAINER_TERMINATION_MESSAGE_BYTES,
  ResultType,
  terminationMessageLimit,
} from '../../src/tekton/termination-message.ts';
import type { CatalogStep, CatalogTaskSpec } from './catalog-task.ts';
import { containerEnvironment, emptyDir, runContainer, type ContainerMount } from './container.ts';
import { unpackImage, type ImageConfig } from './step-image.ts';
import { resolveStepActionRefs, type StepActionDocument } from './tekton-stepactions.ts';
import { resolveTaskSteps, RESULTS_DIR, stepContainerName, STEPS_DIR, WORKSPACE_DIR, workspaceMountPath, type RunContext, type WorkspaceBindingInfo } from './tekton-substitution.ts';

/** A workspace binding as the pod sees it: a host folder mounted at the workspace's path. */
export interface WorkspaceVolume extends WorkspaceBindingInfo {
  source: string;
  /** Secrets and ConfigMaps are always mounted read-only; a Task may ask for any workspace read-only. */
  readOnly?: boolean;
}

/** Unpacked step images, one per image reference, shared by the runs of one test. */
export class ImageCache {
  private readonly unpacked = new Map<string, Promise<{ rootfs: string; config: ImageConfig; cleanup(): Promise<void> }>>();

  private readonly layoutDir: string;
  /** Image reference → tag in the layout (step-<program>). */
  private readonly refNames: ReadonlyMap<string, string>;

  constructor(layoutDir: string, refNames: ReadonlyMap<string, string>) {
    this.layoutDir = layoutDir;
    this.refNames = refNames;
  }

  /** The images of a built catalog: every step image its index records, by reference. */
  static forCatalog(layoutDir: string, index: { tasks: Record<string, { versions: Record<string, { images: Record<string, { reference: string }> }> }> }): ImageCache {
    const refNames = new Map<string, string>();
    for (const entry of Object.values(index.tasks)) {
      for (const record of Object.values(entry.versions)) {
        for (const [program, image] of Object.entries(record.images)) refNames.set(image.reference, `step-${program}`);
      }
    }
    return new ImageCache(layoutDir, refNames);
  }

  get(reference: string): Promise<{ rootfs: string; config: ImageConfig }> {
    const refName = this.refNames.get(reference);
    if (refName === undefined) throw new Error(`no built image for ${reference}`);
    let image = this.unpacked.get(reference);
    if (!image) {
      image = unpackImage(this.layoutDir, refName, 'amd64');
      this.unpacked.set(reference, image);
    }
    return image;
  }

  async cleanup(): Promise<void> {
    for (const image of this.unpacked.values()) await (await image.catch(() => undefined))?.cleanup();
    this.unpacked.clear();
  }
}

export interface StepOutcome {
  name: string;
  /** The program's exit code; undefined when the step was skipped after an earlier failure. */
  code: number | undefined;
  stdout: string;
  stderr: string;
  /** What Tekton's entrypoint would write to /tekton/termination. */
  terminationMessage: string;
  /** Why Tekton would fail the step although the program succeeded (results too large). */
  terminationError?: string;
}

export interface TaskRunOutcome {
  name: string;
  succeeded: boolean;
  steps: StepOutcome[];
  /** The declared results the steps wrote, as the TaskRun status would show them. */
  results: Record<string, string>;
}

export interface TaskRunSpec {
  taskName: string;
  spec: CatalogTaskSpec;
  params: Record<string, string | string[]>;
  workspaces: Record<string, WorkspaceVolume>;
  context: Partial<RunContext> & { taskRunName: string };
  images: ImageCache;
  network?: 'host' | 'none';
  timeoutMs?: number;
  /** The StepActions in the run's namespace, for steps with `ref`. */
  stepActions?: ReadonlyMap<string, StepActionDocument>;
  /**
   * The service account token the kubelet projects into every container
   * (automountServiceAccountToken) and the API server address Kubernetes
   * sets in every container's env; unset: no token (automount off).
   */
  serviceAccount?: { dir: string; env: Record<string, string> };
}

/** The service account token's path in every container (kubelet). */
export const SERVICE_ACCOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

/** `$(steps.<step>.results.<name>)`: the entrypoint reads it from that step's results folder when this step starts. */
const STEP_RESULT_REFERENCE = /\$\(steps\.(?:step-)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.results\.([A-Za-z0-9_.-]+)\)/g;

async function readStepResultReferences(text: string, stepsDir: string): Promise<string> {
  let out = text;
  for (const match of text.matchAll(STEP_RESULT_REFERENCE)) {
    const file = join(stepsDir, `step-${match[1]}`, 'results', match[3]!);
    if (!existsSync(file)) throw new Error(`entrypoint: ${match[0]} is not available: step ${match[1]} wrote no result ${match[3]}`);
    out = out.split(match[0]).join(await readFile(file, 'utf8'));
  }
  return out;
}

function numericUser(config: ImageConfig, step: CatalogStep & { securityContext?: { runAsUser?: number; runAsGroup?: number; runAsNonRoot?: boolean } }) {
  const match = /^(\d+)(?::(\d+))?$/.exec(config.User ?? '');
  const uid = step.securityContext?.runAsUser ?? (match ? Number(match[1]) : 0);
  const gid = step.securityContext?.runAsGroup ?? (match ? Number(match[2] ?? match[1]) : uid);
  if (step.securityContext?.runAsNonRoot && uid === 0) throw new Error(`step ${step.name}: runAsNonRoot with uid 0; the kubelet would refuse to start it`);
  return { uid, gid };
}

/**
 * Runs every step of one TaskRun in order. A step that fails (and is not
 * onError: continue) fails the TaskRun and the rest are skipped, as Tekton
 * does.
 */
export async function runTaskRun(run: TaskRunSpec): Promise<TaskRunOutcome> {
  const context: RunContext = {
    taskRunName: run.context.taskRunName,
    namespace: run.context.namespace ?? 'catalog-test',
    uid: run.context.uid ?? randomUUID(),
    taskName: run.context.taskName ?? run.taskName,
    retryCount: run.context.retryCount ?? 0,
  };
  // Steps with `ref` become the StepActions they run, as the controller resolves them before the pod exists.
  const spec: CatalogTaskSpec = run.spec.steps.some((step) => step.ref !== undefined)
    ? { ...run.spec, steps: resolveStepActionRefs(run.spec, run.params, run.stepActions ?? new Map()) }
    : run.spec;
  const resolved = resolveTaskSteps(spec, { params: run.params, workspaces: run.workspaces, context });
  const pod = await mkdtemp(join(tmpdir(), 'taskrun-'));
  try {
    // Tekton's own emptyDirs (pkg/pod/pod.go implicitVolumes) and the Task's volumes.
    const implicit: ContainerMount[] = [
      { path: WORKSPACE_DIR, source: await emptyDir(join(pod, 'workspace')) },
      { path: '/tekton/home', source: await emptyDir(join(pod, 'home')) },
      { path: RESULTS_DIR, source: await emptyDir(join(pod, 'results')) },
      { path: STEPS_DIR, source: await emptyDir(join(pod, 'steps')) },
      ...(run.serviceAccount ? [{ path: SERVICE_ACCOUNT_PATH, source: run.serviceAccount.dir, readOnly: true }] : []),
    ];
    for (const [i, step] of spec.steps.entries()) await emptyDir(join(pod, 'steps', stepContainerName(step.name, i), 'results'));
    const volumes = new Map<string, string>();
    for (const volume of spec.volumes ?? []) {
      if (!volume.emptyDir) throw new Error(`volume ${volume.name}: the harness emulates emptyDir volumes only`);
      volumes.set(volume.name, await emptyDir(join(pod, 'volumes', volume.name)));
    }
    const workspaceMounts: ContainerMount[] = (spec.workspaces ?? []).flatMap((declaration) => {
      const volume = run.workspaces[declaration.name];
      return volume ? [{ path: workspaceMountPath(declaration), source: volume.source, readOnly: Boolean(volume.readOnly || declaration.readOnly) }] : [];
    });
    // Task results a step writes to /tekton/results; those with a value come from a step result instead.
    const declared = (spec.results ?? []).filter((result) => result.value === undefined).map((result) => result.name);
    const limit = Math.min(MAX_CONTAINER_TERMINATION_MESSAGE_BYTES, terminationMessageLimit({ steps: spec.steps.length }));

    const steps: StepOutcome[] = [];
    let failed = false;
    for (const [i, step] of spec.steps.entries()) {
      if (failed) {
        steps.push({ name: step.name, code: undefined, stdout: '', stderr: '', terminationMessage: '' });
        continue;
      }
      if (!step.command || step.command.length === 0) {
        throw new Error(`step ${step.name} has no command: Tekton's controller would have to look the image's entrypoint up in the registry`);
      }
      const image = await run.images.get(step.image);
      const rendered = resolved[i]!;
      try {
        const stepsDir = join(pod, 'steps');
        rendered.command = await Promise.all(rendered.command.map((item) => readStepResultReferences(item, stepsDir)));
        rendered.args = await Promise.all(rendered.args.map((item) => readStepResultReferences(item, stepsDir)));
        for (const [key, value] of Object.entries(rendered.env)) rendered.env[key] = await readStepResultReferences(value, stepsDir);
      } catch (error) {
        steps.push({ name: step.name, code: 1, stdout: '', stderr: (error as Error).message, terminationMessage: '' });
        failed = true;
        continue;
      }
      const user = numericUser(image.config, step);
      const stepMounts = (step.volumeMounts ?? []).map((mount) => {
        const source = volumes.get(mount.name);
        if (!source) throw new Error(`step ${step.name} mounts unknown volume ${mount.name}`);
        return { path: mount.mountPath, source };
      });
      const result = await runContainer({
        rootfs: image.rootfs,
        argv: [...rendered.command, ...rendered.args],
        env: containerEnvironment(image.config.Env, { ...run.serviceAccount?.env, ...rendered.env }, image.rootfs, user.uid),
        uid: user.uid,
        gid: user.gid,
        workingDir: rendered.workingDir || image.config.WorkingDir || '/',
        mounts: [...implicit, ...stepMounts, ...workspaceMounts],
        ...(run.network ? { network: run.network } : {}),
        timeoutMs: run.timeoutMs ?? 90_000,
      });

      // The entrypoint: every declared result present in /tekton/results, then StartedAt (and ExitCode with onError: continue).
      const entries: { key: string; value: Uint8Array; type: number }[] = [];
      for (const name of declared) {
        const path = join(pod, 'results', name);
        if (existsSync(path)) entries.push({ key: name, value: await readFile(path), type: ResultType.taskRun });
      }
      const ownResults = join(pod, 'steps', stepContainerName(step.name, i), 'results');
      for (const { name } of step.results ?? []) {
        const path = join(ownResults, name);
        if (existsSync(path)) entries.push({ key: name, value: await readFile(path), type: ResultType.step });
      }
      entries.push({ key: 'StartedAt', value: Buffer.from(new Date().toISOString()), type: ResultType.internalTekton });
      if (step.onError === 'continue' && result.code !== 0) entries.push({ key: 'ExitCode', value: Buffer.from(String(result.code)), type: ResultType.internalTekton });
      const message = encodeTerminationMessage(entries);
      const bytes = Buffer.byteLength(message);
      const outcome: StepOutcome = { name: step.name, code: result.code, stdout: result.stdout, stderr: result.stderr, terminationMessage: message };
      if (bytes > MAX_CONTAINER_TERMINATION_MESSAGE_BYTES) {
        outcome.terminationError = 'Termination message is above max allowed size 4096, caused by large task result.';
      } else if (bytes > limit) {
        outcome.terminationError = `termination message of ${bytes} bytes is above the ${limit} bytes the kubelet keeps per container in this pod`;
      }
      steps.push(outcome);
      if ((result.code !== 0 && step.onError !== 'continue') || outcome.terminationError) failed = true;
    }

    const results: Record<string, string> = {};
    for (const result of spec.results ?? []) {
      const fromStep = result.value === undefined ? undefined : /^\$\(steps\.(?:step-)?([a-z0-9-]+)\.results\.([A-Za-z0-9_.-]+)\)$/.exec(result.value);
      if (result.value !== undefined && !fromStep) throw new Error(`result ${result.name}: value ${result.value} is not a step result reference`);
      const path = fromStep ? join(pod, 'steps', `step-${fromStep[1]}`, 'results', fromStep[2]!) : join(pod, 'results', result.name);
      if (existsSync(path)) results[result.name] = await readFile(path, 'utf8');
    }
    return { name: context.taskRunName, succeeded: !failed, steps, results };
  } finally {
    await rm(pod, { recursive: true, force: true });
  }
}

