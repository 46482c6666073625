/**
 * How to spell the command in the hints cutover prints: under `npm start` the `cutover` bin is
 * not on the PATH, so hints say `npx cutover` there.
 */
export function commandName(env: NodeJS.ProcessEnv = process.env): string {
  return env.npm_lifecycle_event ? 'npx cutover' : 'cutover';
}
