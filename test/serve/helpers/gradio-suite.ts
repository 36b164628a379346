import { symlink, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@gradio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../../ts/errors.ts';

export interface SuiteServer {
  url: string;
  /** Where the server keeps uploads (`<dataDir>/uploads`). */
  dataDir: string;
  close(): Promise<void>;
}

export interface SuiteFixtures {
  start(): Promise<SuiteServer>;
  /** An image the pipeline finds a face in. */
  face(): Promise<Buffer>;
  /** A second, different face image. */
  otherFace(): Promise<Buffer>;
}

const OUTPUTS = 5;

interface ApiParam {
  parameter_name: string;
  parameter_has_default?: boolean;
  parameter_default?: unknown;
  type: string;
}
const REFUSED = new RegExp(
  `^(${ERRORS.BAD_PATH.message}|${ERRORS.FILE_NOT_FOUND.message})`,
);
const FILE_META = { _type: 'gradio.FileData' };

function checkOutputs(data: unknown) {
  expect(Array.isArray(data)).toBe(true);
  const [gender, genderPct, smile, smilePct, attention] = data as [
    string,
    number,
    string,
    number,
    { url: string; path: string; meta: unknown },
  ];
  expect((data as unknown[]).length).toBe(OUTPUTS);
  expect(['Male', 'Female']).toContain(gender);
  expect(['Yes', 'No']).toContain(smile);
  for (const pct of [genderPct, smilePct]) {
    expect(pct).toBeGreaterThanOrEqual(0);
    expect(pct).toBeLessThanOrEqual(100);
  }
  expect(attention.meta).toEqual(FILE_META);
  expect(attention.url).toMatch(/\/gradio_api\/file=/);
  return { gender, smile, attention };
}

/**
 * The official @gradio/client (Node) against our server: everything a user
 * of a Python Gradio app would do. Run with the stub pipeline and with the
 * real sidecar.
 */
export function gradioClientSuite(name: string, fx: SuiteFixtures): void {
  describe(`@gradio/client against ${name}`, () => {
    let server: SuiteServer;
    let client: Client;
    let face: Buffer;

    beforeAll(async () => {
      server = await fx.start();
      face = await fx.face();
      client = await Client.connect(server.url);
    });
    afterAll(async () => {
      client?.close();
      await server?.close();
    });

    it('connects and lists both api names with parameter names and defaults', async () => {
      const api = await client.view_api();
      for (const endpoint of ['/inference_with_gradcam', '/predict']) {
        const params: ApiParam[] = api.named_endpoints[endpoint].parameters;
        expect(params.map((p) => p.parameter_name)).toEqual([
          'image',
          'explain_for',
        ]);
        expect(params[1].parameter_has_default).toBe(true);
        expect(params[1].parameter_default).toBe('Smile');
        expect(params[0].type).toBe('Blob | File | Buffer');
      }
    });

    it('predicts by position on the reference api name', async () => {
      const result = await client.predict('/inference_with_gradcam', [
        face,
        'Gender',
      ]);
      const { attention } = checkOutputs(result.data);
      const png = await fetch(attention.url);
      expect(png.status).toBe(200);
      expect(png.headers.get('content-type')).toBe('image/png');
      expect(png.headers.get('x-content-type-options')).toBe('nosniff');
      expect((await png.arrayBuffer()).byteLength).toBeGreaterThan(0);
    });

    it('predicts by keyword, taking the default explain_for', async () => {
      const result = await client.predict('/predict', { image: face });
      checkOutputs(result.data);
    });

    it('gives the same labels on /predict and /inference_with_gradcam', async () => {
      const a = await client.predict('/predict', [face, 'Smile']);
      const b = await client.predict('/inference_with_gradcam', [
        face,
        'Smile',
      ]);
      const la = checkOutputs(a.data);
      const lb = checkOutputs(b.data);
      expect([la.gender, la.smile]).toEqual([lb.gender, lb.smile]);
    });

    it('streams status events and the data with submit', async () => {
      const stages: string[] = [];
      const logs: string[] = [];
      let data: unknown;
      const watcher = await Client.connect(server.url, {
        events: ['data', 'status', 'log'],
      });
      try {
        const job = watcher.submit('/predict', [face, 'Smile']);
        for await (const event of job) {
          if (event.type === 'status') stages.push(event.stage);
          if (event.type === 'log') logs.push(event.log);
          if (event.type === 'data') data = event.data;
        }
      } finally {
        watcher.close();
      }
      expect(logs.join(' ')).toMatch(/Found \d+ face/);
      expect(stages[0]).toBe('pending');
      expect(stages).toContain('complete');
      checkOutputs(data);
    });

    it('rejects a non-image with a message saying so', async () => {
      const notImage = Buffer.from('<html><body>not an image</body></html>');
      await expect(
        client.predict('/predict', [notImage, 'Smile']),
      ).rejects.toThrow(ERRORS.NOT_AN_IMAGE.message);
    });

    it('answers three calls in a row on one client', async () => {
      for (const choice of ['Gender', 'Smile', 'Gender']) {
        checkOutputs((await client.predict('/predict', [face, choice])).data);
      }
    });

    it('keeps several clients at once apart', async () => {
      const other = await fx.otherFace();
      const expected = await Promise.all(
        [face, other].map(async (img) =>
          checkOutputs((await client.predict('/predict', [img])).data),
        ),
      );
      const clients = await Promise.all(
        [1, 2, 3].map(() => Client.connect(server.url)),
      );
      try {
        const runs = clients.flatMap((c: Client) =>
          [face, other, face].map(async (img) => ({
            img,
            out: checkOutputs((await c.predict('/predict', [img])).data),
          })),
        );
        for (const { img, out } of await Promise.all(runs)) {
          const want = expected[img === face ? 0 : 1];
          expect([out.gender, out.smile]).toEqual([want.gender, want.smile]);
        }
      } finally {
        for (const c of clients) c.close();
      }
    });

    it('refuses file paths outside its own files, URLs and empty inputs', async () => {
      const uploads = path.join(server.dataDir, 'uploads');
      const link = path.join(uploads, 'link-dir');
      await mkdir(link, { recursive: true });
      await symlink('/etc/passwd', path.join(link, 'passwd.png')).catch(
        () => {},
      );
      const hostile = [
        '/etc/passwd',
        `${uploads}/../../../../etc/passwd`,
        `${uploads}/%2e%2e/%2e%2e/etc/passwd`,
        '..%2F..%2Fetc%2Fpasswd',
        'https://example.com/face.png',
        'file:///etc/passwd',
        `${uploads}-evil/x.png`,
        path.join(link, 'passwd.png'),
        `${uploads}/x.png\u0000.jpg`,
      ];
      for (const p of hostile) {
        const input = { path: p, meta: FILE_META, orig_name: 'x.png' };
        await expect(
          client.predict('/predict', [input, 'Smile']),
        ).rejects.toThrow(REFUSED);
      }
      await expect(client.predict('/predict', [{}, 'Smile'])).rejects.toThrow(
        /did not arrive/,
      );
    });

    it('refuses path traversal on file=', async () => {
      const uploads = path.join(server.dataDir, 'uploads');
      const paths = [
        '/etc/passwd',
        '..%2F..%2F..%2Fetc%2Fpasswd',
        `${encodeURIComponent(uploads)}%2F..%2F..%2F..%2Fetc%2Fpasswd`,
        '%2e%2e/%2e%2e/etc/passwd',
        'https://example.com/x.png',
        encodeURIComponent(path.join(uploads, 'link-dir', 'passwd.png')),
      ];
      for (const p of paths) {
        const res = await fetch(`${server.url}/gradio_api/file=${p}`);
        expect([403, 404]).toContain(res.status);
        expect(await res.text()).not.toContain('root:');
      }
    });

    it('serves the curl two-step /call routes', async () => {
      const form = new FormData();
      form.append('files', new Blob([new Uint8Array(face)]), 'face.png');
      const [uploaded] = (await (
        await fetch(`${server.url}/gradio_api/upload`, {
          method: 'POST',
          body: form,
        })
      ).json()) as string[];
      const post = await fetch(
        `${server.url}/gradio_api/call/inference_with_gradcam`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            data: [{ path: uploaded, meta: FILE_META }, 'Smile'],
          }),
        },
      );
      const { event_id: eventId } = (await post.json()) as { event_id: string };
      expect(eventId).toMatch(/^[0-9a-f]{32}$/);
      const stream = await fetch(
        `${server.url}/gradio_api/call/inference_with_gradcam/${eventId}`,
      );
      const text = await stream.text();
      expect(text).toMatch(/^event: complete\ndata: \[/m);
      const line = text.split('\n').find((l) => l.startsWith('data: ['));
      checkOutputs(JSON.parse((line as string).slice(6)));
    });
  });
}
