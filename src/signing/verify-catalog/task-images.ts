import { parseDocument } from 'yaml';
import { quoteUntrusted } from '../../errors.ts';

/** A Task is a few KiB; anything far larger is not one of ours. */
export const MAX_TASK_BYTES = 1024 * 1024;

export interface TaskImage {
  /** Where in the Task: "steps[0] verify", "sidecars[1] proxy", "stepTemplate". */
  where: string;
  image: string;
}

/**
 * Every image a Task would run: its steps', its sidecars' and its step
 * template's. Read only after the bundle holding the Task verified, but the
 * shape is still checked: anything unexpected is an error, never a skip.
 */
export function taskImages(yaml: Buffer, label: string): { name: string; images: TaskImage[] } {
  if (yaml.byteLength > MAX_TASK_BYTES) throw new Error(`${label} is larger than ${MAX_TASK_BYTES} bytes`);
  const document = parseDocument(yaml.toString('utf8'));
  if (document.errors.length > 0) throw new Error(`${label} is not valid YAML`);
  const value = document.toJS({ maxAliasCount: 0 }) as unknown;
  if (!isObject(value) || value.kind !== 'Task' || !isObject(value.spec)) throw new Error(`${label} is not a Task`);
  const metadata = isObject(value.metadata) ? value.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const images: TaskImage[] = [];
  const take = (container: unknown, where: string) => {
    if (!isObject(container) || container.image === undefined) return;
    if (typeof container.image !== 'string') throw new Error(`${label} ${where} has a non-string image`);
    images.push({ where, image: container.image });
  };
  for (const field of ['steps', 'sidecars'] as const) {
    const list = value.spec[field];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new Error(`${label} spec.${field} is not a list`);
    list.forEach((item, i) => take(item, `${field}[${i}]${isObject(item) && typeof item.name === 'string' ? ` ${quoteUntrusted(item.name, 63)}` : ''}`));
  }
  take(value.spec.stepTemplate, 'stepTemplate');
  return { name, images };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
