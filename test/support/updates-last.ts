/** See job-order.ts: an activation's Updates after its other jobs. */
import { updatesPut } from './job-order.js';

export const interceptors = updatesPut('last');
