import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../ts/errors.ts';
import { solidPng, startTestServer, type TestServer } from './helpers/app.ts';
import { StubAnalyzer } from './helpers/stub-analyzer.ts';

/** The queue routes over plain HTTP, as curl users and odd clients use them. */
describe('Gradio queue routes over HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(
      { analyzer: new StubAnalyzer({ delayMs: 300 }) },
      { queueMax: 2 },
    );
  });
  afterAll(() => server.close());

  const post = (route: string, body: unknown) =>
    fetch(`${server.url}/gradio_api/${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('sends event: error on the /call stream for a failed call', async () => {
    const res = await post('call/predict', {
      data: [{ path: '/etc/passwd', meta: { _type: 'gradio.FileData' } }],
    });
    const { event_id: id } = (await res.json()) as { event_id: string };
    const text = await (
      await fetch(`${server.url}/gradio_api/call/predict/${id}`)
    ).text();
    expect(text).toContain(
      `event: error\ndata: ${JSON.stringify(ERRORS.BAD_PATH.message)}`,
    );
  });

  it('answers a second read of a /call result with an error, not an empty stream', async () => {
    const res = await post('call/predict', {
      data: [{ path: '/etc/passwd', meta: { _type: 'gradio.FileData' } }],
    });
    const { event_id: id } = (await res.json()) as { event_id: string };
    const url = `${server.url}/gradio_api/call/predict/${id}`;
    expect(await (await fetch(url)).text()).toContain('event: error');
    const again = await (await fetch(url)).text();
    expect(again).toContain('event: error\ndata: "Session not found."');
  });

  it('answers 404 for an unknown api name and 422 for a malformed join', async () => {
    expect((await post('call/nope', { data: [] })).status).toBe(404);
    const bad = await post('queue/join', {
      data: 'x',
      fn_index: 0,
      session_hash: 's',
    });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/data/);
    const noFn = await post('queue/join', {
      data: [],
      fn_index: 99,
      session_hash: 's',
    });
    expect(noFn.status).toBe(422);
    const badHash = await post('queue/join', {
      data: [],
      fn_index: 0,
      session_hash: '../x',
    });
    expect(badHash.status).toBe(422);
  });

  it('answers an unknown session with session_not_found, then ends the stream', async () => {
    const text = await (
      await fetch(`${server.url}/gradio_api/queue/data?session_hash=nobody`)
    ).text();
    const messages = text
      .split('\n\n')
      .filter(Boolean)
      .map((frame) => JSON.parse(frame.replace(/^data: /, '')));
    expect(messages.at(-1)).toMatchObject({
      msg: 'unexpected_error',
      session_not_found: true,
    });
  });

  it('answers 503 with a detail once the queue is full', async () => {
    const form = new FormData();
    form.append(
      'files',
      new Blob([new Uint8Array(await solidPng('#a0a0a0'))]),
      'x.png',
    );
    const upload = await fetch(`${server.url}/gradio_api/upload`, {
      method: 'POST',
      body: form,
    });
    const [uploaded] = (await upload.json()) as string[];
    const image = { path: uploaded, meta: { _type: 'gradio.FileData' } };
    const join = (i: number) =>
      post('queue/join', {
        data: [image],
        fn_index: 0,
        session_hash: `full-${i}`,
      });
    const responses = await Promise.all([0, 1, 2, 3].map(join));
    const full = responses.filter((r) => r.status === 503);
    expect(full.length).toBeGreaterThanOrEqual(1);
    expect(await full[0].json()).toEqual({ detail: 'Queue is full.' });
  });

  it('cancels only with the right session', async () => {
    const { event_id: id } = (await (
      await post('queue/join', {
        data: [{}],
        fn_index: 0,
        session_hash: 'owner',
      })
    ).json()) as { event_id: string };
    const wrong = await post('cancel', {
      event_id: id,
      session_hash: 'intruder',
      fn_index: 0,
    });
    expect(await wrong.json()).toEqual({ success: false });
    expect((await post('reset', { event_id: id })).status).toBe(200);
  });
});
