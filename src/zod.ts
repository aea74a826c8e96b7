/**
 * zod's small API, with its English messages. Every schema of the catalog
 * is built from here: zod/mini builds schemas as plain data (the classic API
 * adds every method to every schema, which step programs would pay for at
 * start-up) and ships without messages, so this module turns on the English
 * ones that users and tests read ("Invalid input: expected string, received
 * undefined"). Import it as `import * as z from '…/zod.ts'`: a namespace
 * import lets esbuild keep only the functions a step uses.
 */
import * as z from 'zod/mini';
import { en } from 'zod/v4/locales';

z.config(en());

export * from 'zod/mini';
