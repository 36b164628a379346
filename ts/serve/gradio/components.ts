/**
 * The Gradio component kinds this app uses, described the way Gradio 6's
 * /config and /info describe them. Clients read these shapes: the JS client
 * keys on `component` ("Image" → Blob/File/Buffer inputs), the Python client
 * on `api_info` (a FileData schema marks an input to upload).
 */

export type JsonSchema = Record<string, unknown>;

export interface ComponentSpec {
  id: number;
  /** Gradio's lower-case type name: "image", "radio", ... */
  type: string;
  /** The class name /info reports: "Image", "Radio", ... */
  className: string;
  props: Record<string, unknown>;
  apiInfo: JsonSchema;
  /** Python type hint shown by view_api. */
  pythonType: string;
  example: unknown;
  /** Layout-only or trigger components have no API value. */
  skipApi: boolean;
}

const nullable = (type: string, title: string): JsonSchema => ({
  anyOf: [{ type }, { type: 'null' }],
  default: null,
  title,
});

/** Gradio's FileData schema; renders as the client's CURRENT_FILE_DATA_FORMAT. */
export const FILE_DATA_SCHEMA: JsonSchema = {
  properties: {
    path: { title: 'Path', type: 'string' },
    url: nullable('string', 'Url'),
    size: nullable('integer', 'Size'),
    orig_name: nullable('string', 'Orig Name'),
    mime_type: nullable('string', 'Mime Type'),
    is_stream: { default: false, title: 'Is Stream', type: 'boolean' },
    meta: {
      properties: {
        _type: { const: 'gradio.FileData', title: 'Type', type: 'string' },
      },
      required: ['_type'],
      title: 'FileDataMeta',
      type: 'object',
    },
  },
  required: ['path'],
  title: 'ImageData',
  type: 'object',
};

const BASE_PROPS = {
  elem_id: null,
  elem_classes: [],
  visible: true,
  key: null,
  render: true,
  scale: null,
  min_width: 160,
  container: true,
  show_label: true,
  interactive: null,
};

export function imageComponent(
  id: number,
  label: string,
  interactive: boolean,
): ComponentSpec {
  return {
    id,
    type: 'image',
    className: 'Image',
    props: {
      ...BASE_PROPS,
      label,
      interactive,
      value: null,
      name: 'image',
      type: 'pil',
      format: 'png',
      image_mode: 'RGB',
      sources: interactive ? ['upload', 'clipboard'] : [],
      streaming: false,
      height: null,
      width: null,
      show_download_button: true,
      show_fullscreen_button: true,
      placeholder: null,
      _selectable: false,
    },
    apiInfo: FILE_DATA_SCHEMA,
    pythonType: 'filepath',
    example: {
      path: 'face.png',
      meta: { _type: 'gradio.FileData' },
      orig_name: 'face.png',
    },
    skipApi: false,
  };
}

export function radioComponent(
  id: number,
  label: string,
  choices: readonly string[],
  value: string,
): ComponentSpec {
  return {
    id,
    type: 'radio',
    className: 'Radio',
    props: {
      ...BASE_PROPS,
      label,
      value,
      choices: choices.map((c) => [c, c]),
      type: 'value',
      info: null,
      name: 'radio',
      _selectable: false,
    },
    apiInfo: { enum: [...choices], title: 'Radio', type: 'string' },
    pythonType: `Literal[${choices.map((c) => `'${c}'`).join(', ')}]`,
    example: value,
    skipApi: false,
  };
}

export function textboxComponent(id: number, label: string): ComponentSpec {
  return {
    id,
    type: 'textbox',
    className: 'Textbox',
    props: {
      ...BASE_PROPS,
      label,
      value: '',
      lines: 1,
      max_lines: 1,
      placeholder: null,
      show_copy_button: false,
      type: 'text',
      interactive: false,
      name: 'textbox',
      _selectable: false,
    },
    apiInfo: { type: 'string' },
    pythonType: 'str',
    example: 'Hello!!',
    skipApi: false,
  };
}

export function sliderComponent(
  id: number,
  label: string,
  minimum: number,
  maximum: number,
): ComponentSpec {
  return {
    id,
    type: 'slider',
    className: 'Slider',
    props: {
      ...BASE_PROPS,
      label,
      value: minimum,
      minimum,
      maximum,
      step: 0.01,
      interactive: false,
      name: 'slider',
      _selectable: false,
    },
    apiInfo: {
      maximum,
      minimum,
      type: 'number',
    },
    pythonType: 'float',
    example: minimum,
    skipApi: false,
  };
}

export function buttonComponent(id: number, label: string): ComponentSpec {
  return {
    id,
    type: 'button',
    className: 'Button',
    props: {
      ...BASE_PROPS,
      value: label,
      variant: 'primary',
      size: 'lg',
      interactive: true,
      name: 'button',
      _selectable: false,
    },
    apiInfo: { type: 'string' },
    pythonType: 'str',
    example: label,
    skipApi: true,
  };
}

/** The component entry of /config. */
export function configEntry(c: ComponentSpec): Record<string, unknown> {
  return {
    id: c.id,
    type: c.type,
    props: c.props,
    skip_api: c.skipApi,
    component_class_id: `${c.className}-faceattr`,
    key: null,
    ...(c.skipApi
      ? {}
      : {
          api_info: c.apiInfo,
          api_info_as_input: c.apiInfo,
          api_info_as_output: c.apiInfo,
          example_inputs: c.example,
        }),
  };
}
