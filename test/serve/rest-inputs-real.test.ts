import { Client } from '@gradio/client';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../ts/errors.ts';
import {
  dataUrlPng,
  fakeHeic,
  meanColour,
  noFaceImages,
  pngBombHeader,
  scene,
} from './helpers/generated.ts';
import {
  FACE_SOURCE,
  startRealServer,
  testFaces,
  type RealServer,
} from './helpers/real-server.ts';

interface Face {
  box: [number, number, number, number];
  score: number;
  gender: { label: string; probability: number };
  smile: { label: string; probability: number };
  explanations: Record<
    string,
    { explained_label: string; png: string; flat: boolean }
  >;
}
interface Analysis {
  faces: Face[];
  image: {
    width: number;
    height: number;
    orientation_applied: boolean;
    frames?: number;
  };
  model: { name: string; version: string };
}

const BACKGROUND = '#c04020';
const CORNER = { left: 0, top: 0, width: 40, height: 40 };

function near(actual: number[], expected: number[], tolerance: number) {
  actual.forEach((v, i) =>
    expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(tolerance),
  );
}

describe(`REST /api/v1/analyze: real inputs, real sidecar, ${FACE_SOURCE}`, () => {
  let server: RealServer;
  let faces: Buffer[];
  let face: Buffer;
  let portrait: Buffer;

  async function analyze(body: Buffer, query = '', type = 'image/png') {
    const res = await server.app.inject({
      method: 'POST',
      url: `/api/v1/analyze${query}`,
      headers: { 'content-type': type },
      body,
    });
    return {
      status: res.statusCode,
      json: res.json() as Analysis & { error: { code: string } },
      text: res.body,
    };
  }

  async function ok(
    body: Buffer,
    query = '',
    type = 'image/png',
  ): Promise<Analysis> {
    const res = await analyze(body, query, type);
    expect(res.status, res.text.slice(0, 200)).toBe(200);
    return res.json;
  }

  async function refused(
    body: Buffer,
    status: number,
    codes: string[],
    type = 'image/png',
  ) {
    const res = await analyze(body, '', type);
    expect(res.status).toBe(status);
    expect(codes).toContain(res.json.error.code);
    return res;
  }

  beforeAll(async () => {
    server = await startRealServer();
    faces = await testFaces();
    face = faces[0];
    portrait = await scene(
      360,
      480,
      [{ image: face, left: 80, top: 100, height: 240 }],
      BACKGROUND,
    );
  });
  afterAll(() => server?.close());

  it('analyses an already-cropped face as it comes in the data sets', async () => {
    const meta = await sharp(face).metadata();
    const result = await ok(face, '', `image/${meta.format}`);
    expect(result.faces.length).toBeGreaterThanOrEqual(1);
    expect(result.image).toEqual({
      width: meta.width,
      height: meta.height,
      orientation_applied: false,
    });
  });

  it('times every pipeline step in /metrics', async () => {
    await ok(portrait, '?explain=both', 'image/png');
    const text = (await server.app.inject({ url: '/metrics' })).body;
    for (const stage of ['decode', 'detect', 'crop', 'predict', 'render']) {
      expect(text).toMatch(
        new RegExp(
          `faceattr_pipeline_stage_seconds_count\\{stage="${stage}"\\} [1-9]`,
        ),
      );
    }
    // The real sidecar's CPU time, for the benchmark's CPU per request.
    const cpu = /^faceattr_sidecar_cpu_seconds (\S+)$/m.exec(text);
    expect(Number(cpu?.[1])).toBeGreaterThan(0);
  });

  it('auto-orients EXIF orientations 6 and 8, answering in display orientation', async () => {
    const upright = await ok(portrait, '?explain=smile');
    expect(upright.faces).toHaveLength(1);
    for (const [orientation, angle] of [
      [6, -90],
      [8, 90],
    ] as const) {
      const stored = await sharp(portrait)
        .rotate(angle)
        .withMetadata({ orientation })
        .jpeg()
        .toBuffer();
      expect((await sharp(stored).metadata()).width).toBe(480);
      const result = await ok(stored, '?explain=smile', 'image/jpeg');
      expect(result.image).toMatchObject({
        width: 360,
        height: 480,
        orientation_applied: true,
      });
      expect(result.faces).toHaveLength(1);
      near(result.faces[0].box, upright.faces[0].box, 10);
      const map = await sharp(
        dataUrlPng(result.faces[0].explanations.smile.png),
      ).metadata();
      expect([map.width, map.height]).toEqual([360, 480]);
    }
  });

  it('converts CMYK JPEG to sRGB without shifting or negating colours', async () => {
    const cmyk = await sharp(portrait)
      .toColourspace('cmyk')
      .jpeg({ quality: 95 })
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const result = await ok(cmyk, '?explain=gender', 'image/jpeg');
    expect(result.faces).toHaveLength(1);
    const overlay = dataUrlPng(result.faces[0].explanations.gender.png);
    near(await meanColour(overlay, CORNER), [0xc0, 0x40, 0x20], 16);
  });

  it('scales a 16-bit PNG to 8 bits instead of clamping it to white', async () => {
    const deep = await sharp(portrait).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe('ushort');
    const result = await ok(deep, '?explain=gender');
    expect(result.faces).toHaveLength(1);
    const overlay = dataUrlPng(result.faces[0].explanations.gender.png);
    near(await meanColour(overlay, CORNER), [0xc0, 0x40, 0x20], 6);
  });

  it('gives grey, grey+alpha, palette and RGBA images exactly three channels', async () => {
    const grey = await sharp(portrait)
      .removeAlpha()
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const greyAlpha = await sharp(portrait)
      .removeAlpha()
      .toColourspace('b-w')
      .ensureAlpha(1)
      .png()
      .toBuffer();
    const palette = await sharp(portrait).png({ palette: true }).toBuffer();
    const rgba = await sharp(portrait).ensureAlpha(1).png().toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    expect((await sharp(greyAlpha).metadata()).channels).toBe(2);
    expect((await sharp(palette).metadata()).isPalette).toBe(true);
    expect((await sharp(rgba).metadata()).channels).toBe(4);
    for (const image of [grey, greyAlpha, palette, rgba]) {
      expect((await ok(image)).faces).toHaveLength(1);
    }
  });

  it('composites alpha onto a fixed background so hidden colour never leaks', async () => {
    const { data, info } = await sharp(portrait)
      .ensureAlpha(1)
      .raw()
      .toBuffer({ resolveWithObject: true });
    for (let y = 0; y < 60; y++) {
      for (let x = 0; x < 60; x++) {
        data.set([255, 0, 0, 0], (y * info.width + x) * 4);
      }
    }
    const hidden = await sharp(data, {
      raw: { width: info.width, height: info.height, channels: 4 },
    })
      .png()
      .toBuffer();
    const paletted = await sharp(hidden).png({ palette: true }).toBuffer();
    for (const image of [hidden, paletted]) {
      const result = await ok(image, '?explain=gender');
      const overlay = dataUrlPng(result.faces[0].explanations.gender.png);
      near(await meanColour(overlay, CORNER), [255, 255, 255], 8);
    }
  });

  it('analyses the first frame of an animated GIF or WebP and says how many frames there were', async () => {
    const grey = await scene(360, 480, [], BACKGROUND);
    for (const format of ['gif', 'webp'] as const) {
      const faceFirst = await sharp([portrait, grey], {
        join: { animated: true },
      })
        .toFormat(format)
        .toBuffer();
      const greyFirst = await sharp([grey, portrait], {
        join: { animated: true },
      })
        .toFormat(format)
        .toBuffer();
      const a = await ok(faceFirst, '', `image/${format}`);
      expect(a.image.frames).toBe(2);
      expect(a.faces).toHaveLength(1);
      const b = await ok(greyFirst, '', `image/${format}`);
      expect(b.image.frames).toBe(2);
      expect(b.faces).toHaveLength(0);
    }
  });

  it('decodes AVIF, and refuses HEIC it cannot decode with UNSUPPORTED_FORMAT', async () => {
    const avif = await sharp(portrait).avif().toBuffer();
    expect((await ok(avif, '', 'image/avif')).faces).toHaveLength(1);
    await refused(
      await fakeHeic(portrait),
      415,
      ['UNSUPPORTED_FORMAT'],
      'image/heic',
    );
    await refused(
      await bmp(portrait),
      415,
      ['UNSUPPORTED_FORMAT'],
      'image/bmp',
    );
  });

  it('refuses truncated JPEG and PNG with 422 UNDECODABLE_IMAGE', async () => {
    const jpeg = await sharp(portrait).jpeg().toBuffer();
    await refused(
      jpeg.subarray(0, Math.floor(jpeg.length / 2)),
      422,
      ['UNDECODABLE_IMAGE'],
      'image/jpeg',
    );
    await refused(portrait.subarray(0, Math.floor(portrait.length / 2)), 422, [
      'UNDECODABLE_IMAGE',
    ]);
  });

  it('refuses a 0-byte upload with 400 EMPTY_UPLOAD', async () => {
    await refused(Buffer.alloc(0), 400, ['EMPTY_UPLOAD'], 'image/jpeg');
  });

  it('refuses text, HTML and zip posing as images with 415 NOT_AN_IMAGE, never echoing them', async () => {
    const zip = Buffer.concat([
      Buffer.from('PK\u0003\u0004', 'latin1'),
      Buffer.alloc(60, 7),
    ]);
    for (const body of [
      Buffer.from('just some text, not a photo'),
      Buffer.from('<html><script>alert("x")</script></html>'),
      zip,
    ]) {
      const res = await refused(body, 415, ['NOT_AN_IMAGE'], 'image/jpeg');
      expect(res.text).not.toContain('alert');
      expect(res.text).not.toContain('some text');
    }
  });

  it('refuses a decompression-bomb header with 413 TOO_MANY_PIXELS without decoding', async () => {
    const bomb = pngBombHeader(20_000, 20_000);
    expect(bomb.length).toBeLessThan(200);
    const started = performance.now();
    await refused(bomb, 413, ['TOO_MANY_PIXELS']);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('handles a huge 6000×4000 photo, finding the face where it is', async () => {
    const background = await sharp({
      create: {
        width: 6000,
        height: 4000,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 8 },
      },
    })
      .png()
      .toBuffer();
    const big = await sharp(background)
      .composite([
        {
          input: await sharp(face).resize({ height: 1600 }).toBuffer(),
          left: 3000,
          top: 1200,
        },
      ])
      .jpeg({ quality: 90 })
      .toBuffer();
    expect(big.length).toBeGreaterThan(1_000_000);
    const result = await ok(big, '?explain=gender', 'image/jpeg');
    expect(result.image).toMatchObject({ width: 6000, height: 4000 });
    expect(result.faces.length).toBeGreaterThanOrEqual(1);
    const [x, y, w, h] = result.faces[0].box;
    expect(x).toBeGreaterThanOrEqual(3000);
    const meta = await sharp(face).metadata();
    const pastedWidth = Math.round(
      (1600 * (meta.width ?? 0)) / (meta.height ?? 1),
    );
    expect(x + w).toBeLessThanOrEqual(3000 + pastedWidth);
    expect(y).toBeGreaterThanOrEqual(1200);
    expect(y + h).toBeLessThanOrEqual(2800);
    const map = await sharp(
      dataUrlPng(result.faces[0].explanations.gender.png),
    ).metadata();
    expect(Math.max(map.width ?? 0, map.height ?? 0)).toBeLessThanOrEqual(768);
  });

  it('refuses an upload over the byte limit with 413 UPLOAD_TOO_LARGE', async () => {
    const tooBig = Buffer.alloc(20 * 1024 * 1024 + 1, 0xff);
    await refused(tooBig, 413, ['UPLOAD_TOO_LARGE'], 'image/jpeg');
  });

  it('refuses 8×8 and 1×500 images with 422 IMAGE_TOO_SMALL', async () => {
    for (const [width, height] of [
      [8, 8],
      [1, 500],
    ]) {
      const tiny = await sharp({
        create: { width, height, channels: 3, background: '#888' },
      })
        .png()
        .toBuffer();
      await refused(tiny, 422, ['IMAGE_TOO_SMALL']);
    }
  });

  it('answers 200 with no faces for noise, a checkerboard and flat grey', async () => {
    for (const [name, image] of Object.entries(await noFaceImages())) {
      const result = await ok(image);
      expect(result.faces, name).toEqual([]);
    }
  });

  it('answers no face through Gradio with a clear error', async () => {
    const { flat } = await noFaceImages();
    const client = await Client.connect(server.url);
    try {
      await expect(client.predict('/predict', [flat, 'Smile'])).rejects.toThrow(
        ERRORS.NO_FACE.message,
      );
    } finally {
      client.close();
    }
  });

  it('returns one result per face, largest first', async () => {
    const two = await scene(
      900,
      480,
      [
        { image: face, left: 520, top: 60, height: 360 },
        {
          image: faces[1],
          left: 60,
          top: 120,
          height: 240,
        },
      ],
      '#707070',
    );
    const result = await ok(two, '?explain=both');
    expect(result.faces).toHaveLength(2);
    const [big, small] = result.faces;
    expect(big.box[2] * big.box[3]).toBeGreaterThan(
      small.box[2] * small.box[3],
    );
    expect(big.box[0]).toBeGreaterThan(450);
    expect(small.box[0] + small.box[2]).toBeLessThan(450);
    for (const f of result.faces) {
      expect(Object.keys(f.explanations).sort()).toEqual(['gender', 'smile']);
    }
  });

  it('keeps concurrent requests isolated: the same answers as one at a time', async () => {
    const images = await Promise.all(
      faces.map(async (f, i) =>
        scene(
          480,
          480,
          [
            {
              image: f,
              left: 40 + 30 * i,
              top: 60,
              height: 300,
            },
          ],
          '#606060',
        ),
      ),
    );
    const inputs = [...images, ...images];
    const sequential: Analysis[] = [];
    for (const image of inputs)
      sequential.push(await ok(image, '?explain=both'));
    const concurrent = await Promise.all(
      inputs.map((image) => ok(image, '?explain=both')),
    );
    concurrent.forEach((got, i) => {
      const want = sequential[i];
      expect(got.faces.length).toBe(want.faces.length);
      got.faces.forEach((f, j) => {
        const w = want.faces[j];
        expect(f.box).toEqual(w.box);
        expect(f.gender.label).toBe(w.gender.label);
        expect(f.smile.label).toBe(w.smile.label);
        expect(f.gender.probability).toBeCloseTo(w.gender.probability, 3);
        expect(f.smile.probability).toBeCloseTo(w.smile.probability, 3);
        expect(f.explanations.smile.explained_label).toBe(
          w.explanations.smile.explained_label,
        );
      });
    });
  });
});

/** A 24-bit Windows bitmap of `image` (libvips here cannot read BMP). */
async function bmp(image: Buffer): Promise<Buffer> {
  const { data, info } = await sharp(image)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const stride = Math.ceil((info.width * 3) / 4) * 4;
  const out = Buffer.alloc(54 + stride * info.height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(info.width, 18);
  out.writeInt32LE(info.height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  for (let y = 0; y < info.height; y++) {
    const row = 54 + (info.height - 1 - y) * stride; // bottom-up, BGR
    for (let x = 0; x < info.width; x++) {
      const i = (y * info.width + x) * 3;
      out[row + x * 3] = data[i + 2];
      out[row + x * 3 + 1] = data[i + 1];
      out[row + x * 3 + 2] = data[i];
    }
  }
  return out;
}
