/**
 * Content sniffing for files we serve back. Only raster formats a browser
 * renders are ever served inline; the decision comes from the bytes, never
 * from a name or a client-declared type.
 */
const SIGNATURES: ReadonlyArray<{
  mime: string;
  test: (b: Buffer) => boolean;
}> = [
  { mime: 'image/png', test: (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47]) },
  { mime: 'image/jpeg', test: (b) => startsWith(b, [0xff, 0xd8, 0xff]) },
  { mime: 'image/gif', test: (b) => ascii(b, 0, 'GIF8') },
  {
    mime: 'image/webp',
    test: (b) => ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP'),
  },
  {
    mime: 'image/avif',
    test: (b) => ascii(b, 4, 'ftyp') && /^avi[fs]$/.test(ascii4(b, 8)),
  },
  { mime: 'image/bmp', test: (b) => ascii(b, 0, 'BM') && b.length > 26 },
];

function startsWith(buf: Buffer, bytes: number[]): boolean {
  return buf.length >= bytes.length && bytes.every((v, i) => buf[i] === v);
}

function ascii4(buf: Buffer, at: number): string {
  return buf.subarray(at, at + 4).toString('latin1');
}

function ascii(buf: Buffer, at: number, text: string): boolean {
  return buf.subarray(at, at + text.length).toString('latin1') === text;
}

/** The image MIME type of `head` (the first bytes of a file), or null. */
export function sniffImageType(head: Buffer): string | null {
  return SIGNATURES.find((s) => s.test(head))?.mime ?? null;
}
