import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../ts/serve/app.ts';
import { DEFAULT_SERVER_SETTINGS } from '../../ts/serve/settings.ts';
import { StubAnalyzer } from './helpers/stub-analyzer.ts';

/**
 * The Python client recognises file inputs by rendering `api_info` as a
 * Python type hint and comparing it with this text (gradio_client's current
 * FileData format). A small renderer of our own checks we match it.
 */
const PY_FILE_DATA =
  'dict(path: str, url: str | None, size: int | None, orig_name: str | None, ' +
  'mime_type: str | None, is_stream: bool, meta: dict(_type: Literal[gradio.FileData]))';

type Schema = Record<string, unknown>;

function pyType(s: Schema): string {
  if ('const' in s) return `Literal[${String(s.const)}]`;
  if (Array.isArray(s.anyOf))
    return (s.anyOf as Schema[]).map(pyType).join(' | ');
  const simple: Record<string, string> = {
    string: 'str',
    integer: 'int',
    boolean: 'bool',
    number: 'float',
    null: 'None',
  };
  if (typeof s.type === 'string' && s.type in simple) return simple[s.type];
  const props = Object.entries((s.properties ?? {}) as Record<string, Schema>);
  return `dict(${props.map(([k, v]) => `${k}: ${pyType(v)}`).join(', ')})`;
}

describe('Gradio /config and /info', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp({
      analyzer: new StubAnalyzer(),
      settings: { ...DEFAULT_SERVER_SETTINGS },
    });
  });
  afterAll(() => app.close());

  it('presents a Gradio 6 app with a queue and the sse_v3 protocol', async () => {
    const res = await app.inject({
      url: '/config',
      headers: { host: 'faces.test:7860' },
    });
    expect(res.statusCode).toBe(200);
    const config = res.json();
    expect(config.version).toMatch(/^6\./);
    expect(config.api_prefix).toBe('/gradio_api');
    expect(config.protocol).toBe('sse_v3');
    expect(config.root).toBe('http://faces.test:7860');
    expect(config.enable_queue).toBe(true);
    const names = config.dependencies.map(
      (d: { api_name: string }) => d.api_name,
    );
    expect(names).toEqual(['inference_with_gradcam', 'predict']);
    for (const dep of config.dependencies) {
      expect(dep.queue).toBe(true);
      expect(dep.show_api).toBe(true);
      expect(dep.api_visibility).toBe('public');
      expect(dep.inputs).toEqual([1, 2]);
      expect(dep.outputs).toHaveLength(5);
    }
  });

  it('derives root from X-Forwarded headers, ignoring malformed hosts', async () => {
    const proxied = await app.inject({
      url: '/config',
      headers: {
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'faces.example.org',
      },
    });
    expect(proxied.json().root).toBe('https://faces.example.org');
    const hostile = await app.inject({
      url: '/config',
      headers: { host: 'evil.test/<script>' },
    });
    expect(hostile.json().root).not.toContain('<script>');
  });

  it('marks the image input as a file for the Python client', async () => {
    const config = (await app.inject({ url: '/config' })).json();
    const image = config.components.find((c: { id: number }) => c.id === 1);
    expect(image.type).toBe('image');
    expect(pyType(image.api_info)).toBe(PY_FILE_DATA);
    const radio = config.components.find((c: { id: number }) => c.id === 2);
    expect(radio.props.value).toBe('Smile');
  });

  it('names both endpoints with parameter names, defaults and components', async () => {
    const info = (await app.inject({ url: '/gradio_api/info' })).json();
    for (const name of ['/inference_with_gradcam', '/predict']) {
      const ep = info.named_endpoints[name];
      expect(
        ep.parameters.map((p: { parameter_name: string }) => p.parameter_name),
      ).toEqual(['image', 'explain_for']);
      const [image, explain] = ep.parameters;
      expect(image.component).toBe('Image');
      expect(image.parameter_has_default).toBe(false);
      expect(explain.component).toBe('Radio');
      expect(explain.parameter_has_default).toBe(true);
      expect(explain.parameter_default).toBe('Smile');
      expect(explain.type.enum).toEqual(['Gender', 'Smile']);
      expect(ep.returns.map((r: { component: string }) => r.component)).toEqual(
        ['Textbox', 'Slider', 'Textbox', 'Slider', 'Image'],
      );
    }
  });

  it('answers app_id with the id /config announced', async () => {
    const config = (await app.inject({ url: '/config' })).json();
    const appId = (await app.inject({ url: '/gradio_api/app_id' })).json();
    expect(appId.app_id).toBe(config.app_id);
  });
});
