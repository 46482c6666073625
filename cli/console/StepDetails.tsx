/**
 * One step opened: what it is, who owns it, its timing and attempts, a gate's question and votes,
 * the failure waiting to be resolved, check results, what a comparison found, its undo, and the end
 * of its output.
 */
import { Box, Text } from 'ink';
import { describeSummary } from '../../reconcile/format.js';
import { formatDuration } from '../../runbook/duration.js';
import {
  actualMs,
  BACKOUT_STEP_WORDS,
  phaseKindWord,
  plannedText,
  RESOLUTION_WORDS,
  roleWithPeople,
  statusWord,
  type RunContext,
} from '../../present/run-view.js';
import type { StepState } from '../../run/state.js';

export interface StepDetailsProps {
  step: StepState;
  context: RunContext;
  critical: boolean;
  now: number;
  width: number;
  rows: number;
}

/** The lines of a step's details, before they are cut to the screen. */
export function detailLines(step: StepState, context: RunContext, critical: boolean, now: number): string[] {
  const lines: string[] = [];
  const actual = actualMs(step, now);
  const time = (iso?: string) => (iso ? iso.slice(11, 19) : '—');
  lines.push(`${step.id} — ${step.title}${critical ? '  ◆ on the critical path' : ''}`);
  lines.push(
    `phase ${step.phaseId} (${phaseKindWord(step.phaseKind)}) · ${step.kind} · ${step.treatment}${step.runsOn ? ` · runs on ${step.runsOn}` : ''}`,
  );
  lines.push(`owner ${roleWithPeople(step.owner, context)}${step.completedBy ? ` · done by ${step.completedBy}` : ''}`);
  lines.push(
    `status ${statusWord(step.status)}${step.waitingFor ? ` (for ${step.waitingFor})` : ''} · attempts ${step.attempts} · planned ${plannedText(step)} · actual ${actual === undefined ? '—' : formatDuration(actual)}${step.endedAt || actual === undefined ? '' : ' so far'}`,
  );
  lines.push(`started ${time(step.startedAt)} · ended ${time(step.endedAt)}${step.worker ? ` · on ${step.worker}` : ''}`);
  const gate = step.gate;
  if (gate) {
    lines.push(`gate ${gate.status}: ${gate.question ?? step.title}`);
    lines.push(`  needs ${gate.rule === 'all' ? 'each of' : 'one of'} ${gate.approvers.map((r) => roleWithPeople(r, context)).join(', ')}`);
    for (const vote of gate.votes) {
      lines.push(
        `  ${vote.decision === 'approve' ? '✔' : '✖'} ${vote.by} (${vote.role}) ${vote.decision}d${vote.reason ? `: ${vote.reason}` : ''}${vote.automatic ? ' [automatic]' : ''}`,
      );
    }
    if (gate.status === 'open' && gate.awaiting.length > 0) lines.push(`  waiting for ${gate.awaiting.join(', ')}`);
    if (gate.unmetCriteria?.length) lines.push(`  criteria not met: ${gate.unmetCriteria.join('; ')}`);
    if (gate.closesAt) lines.push(`  closes ${time(gate.closesAt)}, then ${gate.onDeadline ?? 'no-go'}`);
    if (gate.pointOfNoReturn)
      lines.push(`  point of no return ${time(gate.pointOfNoReturn.at)} (window ends ${time(gate.pointOfNoReturn.windowEnd)})`);
    if (gate.evidence) lines.push(`  evidence ${gate.evidence.digest.slice(0, 16)}… (cutover gate shows it whole)`);
  }
  if (step.resolution) {
    lines.push(
      `${RESOLUTION_WORDS[step.resolution.kind]}${step.resolution.scope === 'backout' ? ' (its back-out)' : ''} since ${time(step.resolution.since)}: ${step.resolution.error}`,
    );
    lines.push('  waiting for the lead: R to retry it or record it done');
  } else if (step.error) {
    lines.push(`error: ${step.error}`);
  }
  if (step.checks.length > 0) {
    lines.push('checks:');
    for (const c of step.checks) lines.push(`  ${c.passed ? '✔' : '✖'} ${c.name} (${c.kind}): ${c.detail}`);
  }
  if (step.reconcile) lines.push(`compared: ${describeSummary(step.reconcile)}`);
  for (const c of step.checks) if (c.reconcile) lines.push(`check "${c.name}" compared: ${describeSummary(c.reconcile)}`);
  if (step.backout && step.backout.status !== 'pending') {
    const b = step.backout;
    lines.push(`back-out: ${BACKOUT_STEP_WORDS[b.status]} · attempts ${b.attempts}${b.error ? ` · ${b.error}` : ''}`);
  }
  const tail = step.backout?.outputTail ?? step.outputTail;
  if (tail?.trim()) {
    lines.push('output (last lines):');
    for (const line of tail.trimEnd().split('\n').slice(-8)) lines.push(`  │ ${line}`);
  }
  return lines.flatMap((l) => l.split('\n'));
}

export function StepDetails({ step, context, critical, now, width, rows }: StepDetailsProps) {
  const lines = detailLines(step, context, critical, now);
  return (
    <Box flexDirection="column" width={width}>
      {lines.slice(0, rows).map((line, i) => (
        <Text key={i} wrap="truncate" bold={i === 0}>
          {line}
        </Text>
      ))}
      {lines.length > rows ? <Text dimColor>… {lines.length - rows} more lines: `cutover status` has them all</Text> : null}
    </Box>
  );
}
