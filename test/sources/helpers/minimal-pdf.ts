/**
 * Writes the smallest valid PDF that carries real text: one page, one Helvetica text object with
 * one line per entry of `lines`, an optional document-info Title, and a correct xref table (byte
 * offsets of every object). test/fixtures/documents/report.pdf is this function's output; the
 * extraction test checks they still match, so the fixture can always be regenerated.
 */
export function buildMinimalPdf(lines: readonly string[], title?: string): Uint8Array {
  const content = ['BT', '/F1 12 Tf', '14 TL', '72 720 Td', ...lines.map((line) => `(${escapePdfString(line)}) '`), 'ET'].join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${latin1Length(content)} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    ...(title === undefined ? [] : [`<< /Title (${escapePdfString(title)}) >>`]),
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    offsets.push(latin1Length(pdf));
    pdf += `${index + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xrefOffset = latin1Length(pdf);
  // Each xref entry is exactly 20 bytes: 10-digit offset, space, 5-digit generation, space, n/f, space, LF.
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  pdf += offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('');
  const info = title === undefined ? '' : ` /Info ${objects.length} 0 R`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R${info} >>\nstartxref\n${xrefOffset}\n%%EOF\n`;
  return new Uint8Array(Buffer.from(pdf, 'latin1'));
}

export const REPORT_PDF_LINES = ['Quarterly report for the Zephyr project.', 'Revenue grew (strongly) in the third quarter.'];
export const REPORT_PDF_TITLE = 'Zephyr Quarterly Report';

function escapePdfString(text: string): string {
  return text.replace(/[\\()]/g, (char) => `\\${char}`);
}

function latin1Length(text: string): number {
  return Buffer.byteLength(text, 'latin1');
}
