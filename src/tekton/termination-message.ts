/**
 * Tekton's container termination message: the only channel that carries a
 * step's results (and Tekton's own bookkeeping) from the pod to the
 * controller, with the default `results-from: termination-message`. Every
 * size here comes from Tekton's or Kubernetes' source; this module has no
 * dependencies so both the build (budget check) and step programs (runtime
 * check) can use it.
 *
 * How the entrypoint writes it (tektoncd/pipeline pkg/entrypoint/entrypointer.go,
 * Entrypointer.Go and readResultsFromDisk):
 *   1. after the command exits, it reads every *declared* Task result from
 *      /tekton/results/<name> (a missing file is skipped) and writes them as
 *      `[]result.RunResult{Key: name, Value: string(fileContents), ResultType: 1}`
 *      with termination.WriteMessage;
 *   2. a deferred WriteMessage then appends its own entries of ResultType 3
 *      (InternalTektonResultType): always `StartedAt` (time formatted as
 *      "2006-01-02T15:04:05.000Z07:00"), `Reason` = "TimeoutExceeded" or
 *      "Cancelled" when the step timed out or was cancelled, and `ExitCode`
 *      when the step failed with `onError: continue`.
 * termination.WriteMessage (pkg/termination/write.go) json.Marshals the whole
 * array (existing entries first) and fails the step with "Termination message
 * is above max allowed size 4096, caused by large task result." when the
 * bytes exceed MaxContainerTerminationMessageLength = 1024 * 4.
 *
 * RunResult's JSON form (pkg/result/result.go): `{"key":…,"value":…,"type":N}`;
 * `resourceName` is omitempty and never set, `type` is an int since string
 * types were dropped to save space.
 *
 * The kubelet then keeps at most MaxPodTerminationMessageLogLength = 1024 * 12
 * bytes for the whole pod, divided equally among all init and regular
 * containers (kubernetes pkg/kubelet/status normalizeStatus; the Kubernetes
 * docs: "The total message length across all containers will be limited to
 * 12KiB, divided equally among each container"). A truncated message is
 * invalid JSON and the TaskRun fails, so a step's real budget is the smaller
 * of the two.
 */

/** pkg/termination/write.go: MaxContainerTerminationMessageLength. */
export const MAX_CONTAINER_TERMINATION_MESSAGE_BYTES = 4096;

/** kubernetes pkg/kubelet/container: MaxPodTerminationMessageLogLength, shared by every container of the pod. */
export const MAX_POD_TERMINATION_MESSAGE_BYTES = 12 * 1024;

/** pkg/result/result.go */
export const ResultType = {
  taskRun: 1,
  internalTekton: 3,
  step: 4,
} as const;

/** Entrypointer's timeFormat, RFC 3339 with milliseconds; a zone offset makes it 29 bytes, UTC ("Z") 24. */
export const STARTED_AT_MAX_VALUE = '2006-01-02T15:04:05.000+07:00';
/** The longer of the two Reason values the entrypoint writes ("TimeoutExceeded", "Cancelled"). */
export const REASON_MAX_VALUE = 'TimeoutExceeded';
/** An exit code as strconv.Itoa writes it: 0 to 255, or -1 for a signal. */
export const EXIT_CODE_MAX_VALUE = '255';

/**
 * Containers Tekton puts in a TaskRun's pod besides the steps: the `prepare`
 * init container that places the entrypoint binary, always (pkg/pod/pod.go,
 * entrypointInit), and `place-scripts` when any step has a script.
 */
export const TEKTON_INIT_CONTAINERS = 1;

/**
 * Containers that admission webhooks commonly inject into every pod (a
 * service mesh adds an init container and a proxy, e.g. Istio's istio-init
 * and istio-proxy). They take their share of the pod's 12 KiB too, so the
 * catalog budgets for them instead of failing on such clusters.
 */
export const INJECTED_CONTAINERS_ALLOWANCE = 2;

export interface PodShape {
  steps: number;
  sidecars?: number;
  /** Whether any step has a script (adds the place-scripts init container). */
  scripts?: boolean;
  /** Containers other controllers inject; defaults to INJECTED_CONTAINERS_ALLOWANCE. */
  injected?: number;
}

export function podContainerCount(pod: PodShape): number {
  return TEKTON_INIT_CONTAINERS + (pod.scripts ? 1 : 0) + pod.steps + (pod.sidecars ?? 0) + (pod.injected ?? INJECTED_CONTAINERS_ALLOWANCE);
}

/** The most bytes one step container's termination message may hold and still reach the controller intact. */
export function terminationMessageLimit(pod: PodShape): number {
  return Math.min(MAX_CONTAINER_TERMINATION_MESSAGE_BYTES, Math.floor(MAX_POD_TERMINATION_MESSAGE_BYTES / podContainerCount(pod)));
}

export interface RunResult {
  key: string;
  value: string;
  type: number;
}

const HEX = '0123456789abcdef';

/**
 * Escapes bytes as Go's encoding/json writes a string's contents (without
 * the surrounding quotes), HTML-safe as json.Marshal does: `"` and `\` get a
 * backslash; \n, \r and \t their short forms; every other byte below 0x20
 * and `<`, `>`, `&` become \u00XX; U+2028 and U+2029 become \u2028 and \u2029;
 * invalid UTF-8 becomes \ufffd. \b and \f are written as \u0008 and \u000c,
 * as Go before 1.22 does (Go 1.22 writes \b and \f, four bytes shorter), so
 * sizes computed here never undercount on an older Tekton.
 */
export function goJsonEscape(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
      else if (b === 0x0a) out += '\\n';
      else if (b === 0x0d) out += '\\r';
      else if (b === 0x09) out += '\\t';
      else if (b < 0x20 || b === 0x3c || b === 0x3e || b === 0x26) out += `\\u00${HEX[b >> 4]}${HEX[b & 15]}`;
      else out += String.fromCharCode(b);
      i++;
      continue;
    }
    const size = utf8SequenceLength(bytes, i);
    if (size === 0) {
      out += '\\ufffd';
      i++;
      continue;
    }
    const text = Buffer.from(bytes.subarray(i, i + size)).toString('utf8');
    out += text === '\u2028' ? '\\u2028' : text === '\u2029' ? '\\u2029' : text;
    i += size;
  }
  return out;
}

/** Byte length of goJsonEscape(bytes), computed without building the string. */
export function goJsonEscapedLength(bytes: Uint8Array): number {
  let length = 0;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      if (b === 0x22 || b === 0x5c || b === 0x0a || b === 0x0d || b === 0x09) length += 2;
      else if (b < 0x20 || b === 0x3c || b === 0x3e || b === 0x26) length += 6;
      else length += 1;
      i++;
      continue;
    }
    const size = utf8SequenceLength(bytes, i);
    if (size === 0) {
      length += 6;
      i++;
      continue;
    }
    // U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
    const separator = size === 3 && bytes[i] === 0xe2 && bytes[i + 1] === 0x80 && (bytes[i + 2] === 0xa8 || bytes[i + 2] === 0xa9);
    length += separator ? 6 : size;
    i += size;
  }
  return length;
}

/** How many bytes a result value takes inside the termination message (its JSON-escaped form, without quotes). */
export function resultValueBytes(value: string | Uint8Array): number {
  return goJsonEscapedLength(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
}

/**
 * Length of the valid UTF-8 sequence at `i`, or 0 when it is invalid
 * (overlong, surrogate, beyond U+10FFFF, truncated), as Go's utf8.DecodeRune
 * decides.
 */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  const cont = (k: number) => {
    const b = bytes[i + k];
    return b !== undefined && (b & 0xc0) === 0x80;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const b1 = bytes[i + 1];
    if (b1 === undefined) return 0;
    if (b0 === 0xe0 && b1 < 0xa0) return 0;
    if (b0 === 0xed && b1 > 0x9f) return 0;
    return cont(1) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const b1 = bytes[i + 1];
    if (b1 === undefined) return 0;
    if (b0 === 0xf0 && b1 < 0x90) return 0;
    if (b0 === 0xf4 && b1 > 0x8f) return 0;
    return cont(1) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/**
 * The termination message bytes exactly as json.Marshal([]result.RunResult)
 * writes them: fields key, value, type in struct order, no spaces, `type`
 * left out when 0 (omitempty).
 */
export function encodeTerminationMessage(entries: readonly { key: string; value: string | Uint8Array; type?: number }[]): string {
  const items = entries.map((entry) => {
    const value = typeof entry.value === 'string' ? Buffer.from(entry.value, 'utf8') : entry.value;
    const type = entry.type ? `,"type":${entry.type}` : '';
    return `{"key":"${goJsonEscape(Buffer.from(entry.key, 'utf8'))}","value":"${goJsonEscape(value)}"${type}}`;
  });
  return `[${items.join(',')}]`;
}

/** The internal entries the entrypoint may add after the results, at their longest. */
export function worstCaseInternalEntries(options: { onErrorContinue?: boolean } = {}): RunResult[] {
  const entries: RunResult[] = [
    { key: 'StartedAt', value: STARTED_AT_MAX_VALUE, type: ResultType.internalTekton },
    { key: 'Reason', value: REASON_MAX_VALUE, type: ResultType.internalTekton },
  ];
  if (options.onErrorContinue) entries.push({ key: 'ExitCode', value: EXIT_CODE_MAX_VALUE, type: ResultType.internalTekton });
  return entries;
}

/**
 * The longest termination message a step can write when each result takes
 * at most `maxBytes` bytes in escaped form: every result present at its
 * largest, plus the internal entries. Every step's message carries all the
 * Task's results written so far, so this is the bound for each step.
 */
export function worstCaseMessageBytes(results: readonly { name: string; maxBytes: number }[], options: { onErrorContinue?: boolean } = {}): number {
  const entries = [
    // A value of maxBytes bytes that need no escaping is exactly maxBytes long once escaped.
    ...results.map((result) => ({ key: result.name, value: 'x'.repeat(result.maxBytes), type: ResultType.taskRun })),
    ...worstCaseInternalEntries(options),
  ];
  return Buffer.byteLength(encodeTerminationMessage(entries), 'utf8');
}
