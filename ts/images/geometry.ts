/** An axis-aligned rectangle in pixels of some image. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * A square region in integer pixels. It may extend past the image; the part
 * outside is filled by repeating the edge pixels when cropped.
 */
export interface Square {
  x: number;
  y: number;
  size: number;
}

/**
 * The square the model sees around a detected face: centred on the box, with
 * `margin` of the box's longer side added on every side.
 */
export function faceSquare(box: Box, margin: number): Square {
  const side = Math.max(
    1,
    Math.round(Math.max(box.w, box.h) * (1 + 2 * margin)),
  );
  const cx = box.x + box.w / 2;
  const cy = box.y + box.h / 2;
  return {
    x: Math.round(cx - side / 2),
    y: Math.round(cy - side / 2),
    size: side,
  };
}

/** The largest centred square inside a `width × height` image. */
export function centreSquare(width: number, height: number): Square {
  const size = Math.min(width, height);
  return {
    x: Math.floor((width - size) / 2),
    y: Math.floor((height - size) / 2),
    size,
  };
}

/** Scales a box by `factor` (e.g. from a detection copy back to the image). */
export function scaleBox(box: Box, factor: number): Box {
  return {
    x: box.x * factor,
    y: box.y * factor,
    w: box.w * factor,
    h: box.h * factor,
  };
}
