/**
 * A CSV side read straight from the file, in file order, without the temporary sort file of
 * `csv.ts`. Exports are often already in key order; the merge checks the order of every key it
 * receives, and when a key comes out of order `reconcile` starts again with the sorting side
 * (at most once, so an unsorted file costs the rows read until its first misplaced key).
 *
 * Read once: a sample that needs a first pass over the source (N rows, stratified) uses the
 * sorting side from the start.
 */
import { pipeline } from 'node:stream';
import { DataError, ReconcileCancelledError, SourceError } from '../errors.js';
import type { CsvSource } from '../config.js';
import { checkCsvFile, csvFailure, csvParser, csvStages } from './csv.js';
import type { ColumnInfo, ReadPlan, Side } from './side.js';

/** Opens a CSV file for one read in file order. */
export function openCsvStreamSide(spec: CsvSource, file: string, shown: string, role: 'source' | 'target', signal?: AbortSignal): Side {
  const { label, decoder } = checkCsvFile(spec, file, shown, role);
  const parser = csvParser(spec);
  let failure: unknown;
  let wake: (() => void) | undefined;
  const stages = csvStages(file, decoder, parser, spec, role, label);
  pipeline(stages as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream], (err) => {
    if (err) failure = err;
    wake?.();
  });
  parser.on('readable', () => wake?.());
  parser.on('end', () => wake?.());

  let header: string[] | undefined = spec.header ? undefined : spec.columns!;
  /** Records taken from the parser but not handed out yet (the header's neighbours). */
  let held: string[][] = [];

  /** The records the parser has ready, waiting for some when it has none; empty at the end. */
  const take = async (): Promise<string[][]> => {
    for (;;) {
      if (held.length > 0) {
        const out = held;
        held = [];
        return out;
      }
      const out: string[][] = [];
      let record: string[] | null;
      while ((record = parser.read() as string[] | null) !== null) out.push(record);
      if (out.length > 0) return out;
      if (failure) throw csvFailure(failure, role, label);
      if (parser.readableEnded) return [];
      if (signal?.aborted) throw new ReconcileCancelledError();
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  };

  const columns = async (): Promise<ColumnInfo[]> => {
    if (!header) {
      const first = await take();
      if (first.length === 0) {
        throw new SourceError(
          role,
          `${label} is empty: it has no header row; a CSV side needs a header (or \`header: false\` with \`columns\`)`,
        );
      }
      header = first[0]!.map((n) => n.trim());
      held = first.slice(1);
      const seen = new Set<string>();
      for (const c of header) {
        if (seen.has(c)) throw new SourceError(role, `${label} names column \`${c}\` twice in its header; give each column its own name`);
        seen.add(c);
      }
    }
    return header.map((name) => ({ name, integer: false }));
  };

  async function* read(plan: ReadPlan): AsyncIterable<unknown[][]> {
    const names = (await columns()).map((c) => c.name);
    const at = [...plan.keys.map((k) => k.column), ...plan.columns].map((c) => names.indexOf(c));
    const width = names.length;
    let batch: unknown[][] = [];
    for (;;) {
      const records = await take();
      if (records.length === 0) break;
      for (const record of records) {
        if (record.length !== width) {
          throw new DataError(
            role,
            `${label}, line ${parser.info.lines}: the row has ${record.length} fields but the header names ${width}; fix the row or the \`delimiter\``,
          );
        }
        const row = new Array<unknown>(at.length);
        for (let i = 0; i < at.length; i += 1) row[i] = record[at[i]!];
        batch.push(row);
        if (batch.length >= plan.batchSize) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  return {
    label,
    role,
    samplesInSql: false,
    columns,
    read,
    close: () => {
      parser.destroy();
      return Promise.resolve();
    },
  };
}
