import { parse } from 'csv-parse/sync';
import { ApiError } from '../../shared/http/api-error.ts';

/** A parsed MIS CSV: volatile, kept only in this worker's memory. */
export interface CsvReport {
  file: string;
  columns: string[];
  rows: string[][];
  loaded_at: string;
  source: 'mis' | 'upload';
}

/** Parses CSV text with a real CSV parser: quoted fields, commas and newlines inside quotes, a BOM. */
export function parseCsvReport(text: string, file: string, source: CsvReport['source']): CsvReport {
  let records: string[][];
  try {
    records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true, trim: false });
  } catch (error) {
    throw new ApiError(400, 'invalid_body', `the CSV could not be read: ${(error as Error).message}`);
  }
  const [header, ...rows] = records;
  if (!header) throw new ApiError(400, 'invalid_body', 'the CSV is empty');
  return { file, columns: header, rows, loaded_at: new Date().toISOString(), source };
}

/** What `GET /api/mis/csv` shows, and what the session remembers across recycles. */
export function summarise(report: CsvReport, firstRows = 5) {
  return {
    file: report.file,
    source: report.source,
    columns: report.columns,
    row_count: report.rows.length,
    first_rows: report.rows.slice(0, firstRows),
    loaded_at: report.loaded_at,
  };
}

/** `20261126T041503123Z`: sortable, no characters that trouble file systems. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:.]/g, '');
}
