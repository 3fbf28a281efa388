"""From a trained torch model to the files the backends run: ONNX (:mod:`rtmer.export.onnx`), the
weights + card a training run ships (:mod:`rtmer.export.weights`), TensorRT engines built on the
target GPU and cached (:mod:`rtmer.export.tensorrt`). Only the TensorRT part runs without torch."""
