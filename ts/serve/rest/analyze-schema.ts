/** JSON schemas of POST /api/v1/analyze, for validation and the OpenAPI page. */

const label = (labels: string[]) => ({
  type: 'object',
  required: ['label', 'probability'],
  properties: {
    label: { type: 'string', enum: labels },
    probability: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      description: 'Probability of the label given',
    },
  },
});

const explanation = {
  type: 'object',
  required: ['explained_label', 'png', 'flat'],
  properties: {
    explained_label: {
      type: 'string',
      description: 'The class the map explains: the predicted one',
    },
    png: {
      type: 'string',
      // base64 never needs JSON escaping: 'unsafe' makes fast-json-stringify
      // write it as is instead of scanning ~100 KB per map (about 1 ms each).
      // The OpenAPI document leaves this format out.
      format: 'unsafe',
      description: 'data:image/png;base64,... heat map over the whole image',
    },
    flat: {
      type: 'boolean',
      description: 'True when the map is all zero (uninformative)',
    },
  },
};

const face = {
  type: 'object',
  required: ['box', 'score', 'gender', 'smile', 'explanations'],
  properties: {
    box: {
      type: 'array',
      items: { type: 'integer' },
      minItems: 4,
      maxItems: 4,
      description: '[x, y, w, h] in pixels of the oriented image',
    },
    score: { type: 'number', minimum: 0, maximum: 1 },
    whole_image: {
      type: 'boolean',
      description:
        'No face was detected in this small image, so all of it was analysed ' +
        'as a face crop (the centred square); score is 0',
    },
    gender: label(['male', 'female']),
    smile: label(['smiling', 'not_smiling']),
    explanations: {
      type: 'object',
      properties: { gender: explanation, smile: explanation },
    },
  },
};

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
};

export const analyzeResponseSchema = {
  type: 'object',
  required: ['faces', 'image', 'model'],
  properties: {
    faces: { type: 'array', items: face, description: 'Largest face first' },
    image: {
      type: 'object',
      required: ['width', 'height', 'orientation_applied'],
      properties: {
        width: { type: 'integer' },
        height: { type: 'integer' },
        orientation_applied: { type: 'boolean' },
        frames: {
          type: 'integer',
          description: 'Frames in an animation; only the first is analysed',
        },
      },
    },
    model: {
      type: 'object',
      required: ['name', 'version'],
      properties: { name: { type: 'string' }, version: { type: 'string' } },
    },
  },
};

export const analyzeQuerySchema = {
  type: 'object',
  properties: {
    explain: {
      type: 'string',
      enum: ['none', 'gender', 'smile', 'both'],
      default: 'none',
      description: 'Which Grad-CAM maps to return for each face',
    },
  },
  additionalProperties: false,
};
