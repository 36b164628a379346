import sharp from 'sharp';

export interface DrawnFaceOptions {
  width?: number;
  skin?: [string, string];
  hair?: string;
  background?: string;
  smiling?: boolean;
}

/**
 * A drawn face (not a photo of anyone) that OpenCV's frontal-face cascade
 * detects: dark brows and pupils over lighter cheeks, a nose, a mouth.
 * Used by the benchmark, by tests that need a face, and for the README
 * screenshot: the repository holds no photos of real people.
 */
export async function drawnFace(opts: DrawnFaceOptions = {}): Promise<Buffer> {
  const width = opts.width ?? 400;
  const height = Math.round((width * 240) / 200);
  const [light, dark] = opts.skin ?? ['#f2c9a0', '#c98f62'];
  const mouth =
    opts.smiling === false
      ? '<rect x="76" y="172" width="48" height="6" rx="3" fill="#8a3030"/>'
      : '<path d="M72 170 Q100 192 128 170 Q100 180 72 170 Z" fill="#8a3030"/>';
  const open =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" ` +
    `height="${height}" viewBox="0 0 200 240">`;
  const svg = `${open}
  <defs><radialGradient id="skin" cx="50%" cy="45%" r="60%">
    <stop offset="0%" stop-color="${light}"/><stop offset="100%" stop-color="${dark}"/>
  </radialGradient></defs>
  <rect width="200" height="240" fill="${opts.background ?? '#9aa4ad'}"/>
  <ellipse cx="100" cy="40" rx="88" ry="60" fill="${opts.hair ?? '#4a3020'}"/>
  <ellipse cx="100" cy="125" rx="70" ry="92" fill="url(#skin)"/>
  <rect x="52" y="82" width="34" height="7" rx="3" fill="#3a2515"/>
  <rect x="114" y="82" width="34" height="7" rx="3" fill="#3a2515"/>
  <ellipse cx="70" cy="104" rx="15" ry="8" fill="#ffffff"/>
  <ellipse cx="130" cy="104" rx="15" ry="8" fill="#ffffff"/>
  <circle cx="70" cy="104" r="7" fill="#2a1a10"/>
  <circle cx="130" cy="104" r="7" fill="#2a1a10"/>
  <path d="M100 110 L92 148 Q100 154 108 148 Z" fill="${dark}"/>
  ${mouth}
</svg>`;
  return sharp(Buffer.from(svg))
    .blur(width / 200)
    .png()
    .toBuffer();
}
