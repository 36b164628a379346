import { configEntry, type ComponentSpec } from './components.ts';
import type { EndpointSpec, GradioAppSpec, LayoutNode } from './app-spec.ts';

/** The Gradio version we present as; client 2.x (Gradio 6) and 1.x accept it. */
export const GRADIO_VERSION = '6.0.0';
export const API_PREFIX = '/gradio_api';

export interface ConfigContext {
  /** Public base URL of this server, no trailing slash. */
  root: string;
  appId: number;
  maxFileSize: number;
}

function component(spec: GradioAppSpec, id: number): ComponentSpec {
  const found = spec.components.find((c) => c.id === id);
  if (!found) throw new Error(`app spec has no component ${id}`);
  return found;
}

function dependency(ep: EndpointSpec): Record<string, unknown> {
  return {
    id: ep.id,
    targets: ep.targets,
    inputs: ep.parameters.map((p) => p.component),
    outputs: ep.outputs,
    backend_fn: true,
    js: null,
    queue: true,
    api_name: ep.apiName,
    api_description: null,
    scroll_to_output: false,
    show_progress: 'full',
    show_progress_on: null,
    every: null,
    batch: false,
    max_batch_size: 4,
    cancels: [],
    types: { generator: false, cancel: false },
    collects_event_data: false,
    trigger_after: null,
    trigger_only_on_success: false,
    trigger_only_on_failure: false,
    trigger_mode: 'once',
    show_api: true,
    api_visibility: 'public',
    rendered_in: null,
    render_id: null,
    connection: 'sse',
    time_limit: null,
    stream_every: 0.5,
    like_user_message: false,
    event_specific_args: null,
    js_implementation: null,
    component_prop_inputs: [],
  };
}

function layoutIds(node: LayoutNode): number[] {
  return [node.id, ...(node.children ?? []).flatMap(layoutIds)];
}

/** GET /config: the app description `Client.connect` starts from. */
export function buildConfig(
  spec: GradioAppSpec,
  ctx: ConfigContext,
): Record<string, unknown> {
  const components = [
    ...spec.blocks.map((b) => ({ ...b, skip_api: true, key: null })),
    ...spec.components.map(configEntry),
  ];
  const dependencies = spec.endpoints.map(dependency);
  const page = {
    components: layoutIds(spec.layout).filter((id) => id !== spec.layout.id),
    dependencies: spec.endpoints.map((e) => e.id),
    layout: spec.layout,
  };
  return {
    version: GRADIO_VERSION,
    api_prefix: API_PREFIX,
    mode: 'blocks',
    app_id: ctx.appId,
    dev_mode: false,
    vibe_mode: false,
    analytics_enabled: false,
    components,
    css: null,
    js: null,
    head: null,
    title: spec.title,
    theme: 'default',
    theme_hash: null,
    stylesheets: [],
    connect_heartbeat: false,
    enable_queue: true,
    show_error: true,
    show_api: true,
    is_space: false,
    is_colab: false,
    space_id: null,
    max_file_size: ctx.maxFileSize,
    protocol: 'sse_v3',
    fill_height: false,
    fill_width: false,
    layout: spec.layout,
    dependencies,
    root: ctx.root,
    username: null,
    footer_links: ['api', 'gradio', 'settings'],
    page: { '': page },
    pages: [['', 'Home', true]],
    current_page: '',
    i18n_translations: null,
    pwa: false,
    mcp_server: false,
  };
}

function parameterInfo(spec: GradioAppSpec, p: EndpointSpec['parameters'][0]) {
  const c = component(spec, p.component);
  const hasDefault = 'default' in p;
  return {
    label: c.props.label,
    parameter_name: p.name,
    parameter_has_default: hasDefault,
    ...(hasDefault ? { parameter_default: p.default } : {}),
    type: c.apiInfo,
    python_type: { type: c.pythonType, description: '' },
    component: c.className,
    example_input: hasDefault ? p.default : c.example,
  };
}

function returnInfo(spec: GradioAppSpec, id: number) {
  const c = component(spec, id);
  const range =
    c.type === 'slider'
      ? `numeric value between ${c.props.minimum} and ${c.props.maximum}`
      : '';
  return {
    label: c.props.label,
    type: c.apiInfo,
    python_type: { type: c.pythonType, description: range },
    component: c.className,
  };
}

/** GET /gradio_api/info: parameter names, defaults and types per api name. */
export function buildInfo(spec: GradioAppSpec): Record<string, unknown> {
  const named: Record<string, unknown> = {};
  for (const ep of spec.endpoints) {
    named[`/${ep.apiName}`] = {
      parameters: ep.parameters.map((p) => parameterInfo(spec, p)),
      returns: ep.outputs.map((id) => returnInfo(spec, id)),
      show_api: true,
      api_visibility: 'public',
      description: '',
    };
  }
  return { named_endpoints: named, unnamed_endpoints: {} };
}
