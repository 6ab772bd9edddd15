import { GraphBuilder } from '../onnx/builder';

/**
 * The classical filler as an ONNX graph: pull-push interpolation (Gortler et al. 1996, "The
 * Lumigraph", §3.3), written with pooling and resizing so ONNX Runtime runs it natively on the
 * same tiles as any learned filler (task `inpaint`, docs/repair.md).
 *
 * Pull: halve the picture `levels` times with 2×2 averages of the known pixels only (colour
 * premultiplied by a weight that is 1 where known, 0 in a hole); a coarse cell's weight is the sum
 * of its children's clamped to 1, so a cell with any fully known child counts as known and the
 * fill keeps the colour of the nearest pixels instead of a wide average. Push: from the coarsest
 * level down, each level keeps its own colour where it is known and takes the (bilinearly
 * enlarged) coarser level where it is not, in proportion to its weight.
 */
export function fillGraph(levels: number): Uint8Array {
  const g = new GraphBuilder('tintype-fill');
  const image = g.input('image', [1, 3, 'height', 'width']);
  const mask = g.input('mask', [1, 1, 'height', 'width']);
  const one = g.constant([1], []);
  const eps = g.constant([1e-6], []);
  const four = g.constant([4], []);
  const pool = (x: string) =>
    g.node('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 });

  let a = g.node('Sub', [one, mask]);
  let p = g.node('Mul', [image, a]);
  const pyramid: { p: string; a: string }[] = [{ p, a }];
  for (let k = 0; k < levels; k++) {
    const sp = pool(p);
    const sa = pool(a);
    const colour = g.node('Div', [sp, g.node('Max', [sa, eps])]);
    a = g.node('Min', [g.node('Mul', [sa, four]), one]);
    p = g.node('Mul', [colour, a]);
    pyramid.push({ p, a });
  }
  // The coarsest level: its colour wherever anything is known (a hole covering the whole tile stays 0).
  const top = pyramid[levels];
  let f = g.node('Div', [top.p, g.node('Max', [top.a, eps])]);
  for (let k = levels - 1; k >= 0; k--) {
    const { p: pk, a: ak } = pyramid[k];
    const up = g.node('Resize', [f, '', '', g.node('Shape', [pk])], {
      mode: 'linear',
      coordinate_transformation_mode: 'half_pixel',
    });
    const blended = g.node('Add', [pk, g.node('Mul', [g.node('Sub', [one, ak]), up])]);
    f = k === 0 ? g.node('Identity', [blended], {}, ['output']) : blended;
  }
  g.output('output', [1, 3, 'height', 'width']);
  return g.encode();
}
