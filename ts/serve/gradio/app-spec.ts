import {
  buttonComponent,
  imageComponent,
  radioComponent,
  sliderComponent,
  textboxComponent,
  type ComponentSpec,
} from './components.ts';

export interface ParameterSpec {
  component: number;
  name: string;
  /** Present when callers may omit the argument. */
  default?: unknown;
}

export interface EndpointSpec {
  /** The dependency id, which is also the client's fn_index. */
  id: number;
  apiName: string;
  targets: [number, string][];
  parameters: ParameterSpec[];
  outputs: number[];
}

export interface LayoutNode {
  id: number;
  children?: LayoutNode[];
}

export interface GradioAppSpec {
  title: string;
  components: ComponentSpec[];
  /** Layout-only blocks (rows, columns), referenced by the layout tree. */
  blocks: Array<{ id: number; type: string; props: Record<string, unknown> }>;
  layout: LayoutNode;
  endpoints: EndpointSpec[];
}

export const EXPLAIN_CHOICES = ['Gender', 'Smile'] as const;
export type ExplainChoice = (typeof EXPLAIN_CHOICES)[number];
export const DEFAULT_EXPLAIN: ExplainChoice = 'Smile';

/** Component ids, fixed so the browser page can refer to them. */
export const IDS = {
  image: 1,
  explainFor: 2,
  predict: 3,
  gender: 4,
  genderConfidence: 5,
  smile: 6,
  smileConfidence: 7,
  attention: 8,
  root: 0,
  row: 9,
  inputColumn: 10,
  outputColumn: 11,
} as const;

/**
 * The face-attribute app as a Gradio Blocks app: one function under two api
 * names, `/inference_with_gradcam` (the reference Python app's) and
 * `/predict`.
 */
export function faceAppSpec(): GradioAppSpec {
  const parameters: ParameterSpec[] = [
    { component: IDS.image, name: 'image' },
    {
      component: IDS.explainFor,
      name: 'explain_for',
      default: DEFAULT_EXPLAIN,
    },
  ];
  const outputs = [
    IDS.gender,
    IDS.genderConfidence,
    IDS.smile,
    IDS.smileConfidence,
    IDS.attention,
  ];
  return {
    title: 'Face attributes with Grad-CAM',
    components: [
      imageComponent(IDS.image, 'Input Image', true),
      radioComponent(
        IDS.explainFor,
        'Explain',
        EXPLAIN_CHOICES,
        DEFAULT_EXPLAIN,
      ),
      buttonComponent(IDS.predict, 'Predict'),
      textboxComponent(IDS.gender, 'Gender'),
      sliderComponent(IDS.genderConfidence, 'Gender Confidence (%)', 0, 100),
      textboxComponent(IDS.smile, 'Smile'),
      sliderComponent(IDS.smileConfidence, 'Smile Confidence (%)', 0, 100),
      imageComponent(IDS.attention, 'Attention Map', false),
    ],
    blocks: [
      {
        id: IDS.row,
        type: 'row',
        props: { variant: 'default', visible: true },
      },
      { id: IDS.inputColumn, type: 'column', props: { scale: 1 } },
      { id: IDS.outputColumn, type: 'column', props: { scale: 1 } },
    ],
    layout: {
      id: IDS.root,
      children: [
        {
          id: IDS.row,
          children: [
            {
              id: IDS.inputColumn,
              children: [
                { id: IDS.image },
                { id: IDS.explainFor },
                { id: IDS.predict },
              ],
            },
            {
              id: IDS.outputColumn,
              children: outputs.map((id) => ({ id })),
            },
          ],
        },
      ],
    },
    endpoints: [
      {
        id: 0,
        apiName: 'inference_with_gradcam',
        targets: [[IDS.predict, 'click']],
        parameters,
        outputs,
      },
      { id: 1, apiName: 'predict', targets: [], parameters, outputs },
    ],
  };
}
