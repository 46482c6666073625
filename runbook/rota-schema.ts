/** The schema of a rota shift (runbook/rota.ts has what it means; this file keeps zod out of the workflow bundle). */
import { z } from 'zod';
import { ROTA_TIME_PATTERN } from './rota.js';

const rotaTime = z.string().regex(ROTA_TIME_PATTERN, { message: 'expected T, or T and an offset such as T-2h or T+6h30m' });

/** One shift: a person on duty for a role from one time to another. */
export const rotaShift = z
  .object({
    role: z.string().min(1).describe('The role they stand for (a name under `roles`).'),
    person: z.string().min(1).describe('Who is on duty (a person in `roles` or `people`).'),
    from: rotaTime.describe('When the shift starts: T-2h is two hours before the window starts.'),
    to: rotaTime.describe('When it ends (after `from`).'),
  })
  .strict();
