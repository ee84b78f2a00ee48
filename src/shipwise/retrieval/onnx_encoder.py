"""One query at a time through onnxruntime: a sentence-transformers model exported to ONNX.

Why: a 16-token query through torch took 15-20 ms on our 2-core CPU, and the same graph in
onnxruntime about half that, with vectors equal to torch's to float precision (the index
build stays in torch, whose batched matmuls were the faster path there).

The export (transformer, pooling and L2 normalization in one graph, beside a tokenizer set
to truncate as sentence-transformers does) is made once per model fingerprint, checked
against the torch vectors before it is kept, and moved into the cache in one rename, so a
reader sees no export or a whole one. Loading a cached export needs neither torch nor the
sentence-transformers model.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shipwise.cache import slug, staged_folder

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

EXPORT_FORMAT = 1  # bump when the exported graph or tokenizer setup changes
MIN_COSINE = 0.999  # an export whose vectors drift further from torch's is not used
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Texts the export must embed like torch does: short, long enough to be truncated, non-ASCII.
PROBES = (
    "Where is my parcel?",
    "Which NFL team represented the AFC at Super Bowl 50? " * 40,
    "Ünïcödé, emoji 🚚 and numbers 1234-5678",
    "a",
)


class ExportUnsupported(RuntimeError):
    """The model cannot be exported faithfully (an unsupported pipeline, or drifting vectors)."""


class OnnxQueryEncoder:
    """Texts in, unit vectors out, from an exported folder (``model.onnx``, ``tokenizer.json``)."""

    def __init__(self, folder: Path, threads: int = 2) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = folder
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle workers sleep instead of spinning: on a busy 2-core machine a spinning worker
        # takes the core the other needs. Measured per query: 2 sleeping threads beat 1 thread
        # whether the machine was idle or loaded; 2 spinning ones won only when it was idle.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = [i.name for i in self.session.get_inputs()]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, rows of unit length; a batch is padded to its longest text."""
        encodings = self.tokenizer.encode_batch(list(texts))
        arrays = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),  # (batch, seq)
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        (vectors,) = self.session.run(None, {name: arrays[name] for name in self.inputs})
        return np.asarray(vectors, dtype=np.float32)


def export_folder(cache_dir: Path, name: str, path: str) -> Path:
    """Where the export of the model at ``path`` lives: keyed by its files and the exporter."""
    from shipwise.models.local import weights_fingerprint

    versions = [_version(p) for p in ("torch", "sentence-transformers", "transformers")]
    identity = repr((weights_fingerprint(Path(path).expanduser(), None), versions, EXPORT_FORMAT))
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return cache_dir / "embedders" / f"{slug(name, 40, 'model')}-onnx-{key}"


def export(model: SentenceTransformer, target: Path) -> None:
    """Export ``model`` into the folder ``target`` unless it is there; raises when impossible."""
    if (target / "model.onnx").is_file():
        return
    with staged_folder(target) as staging:
        _export_into(model, staging)
        encoder = OnnxQueryEncoder(staging)
        cosine = np.sum(encoder.embed(PROBES) * _torch_vectors(model, PROBES), axis=1)
        if float(cosine.min()) < MIN_COSINE:
            raise ExportUnsupported(
                f"exported vectors differ from torch's (cosine {float(cosine.min()):.5f})"
            )


def _export_into(model: SentenceTransformer, folder: Path) -> None:
    import torch

    transformer, pooling = _pipeline(model)
    hf_tokenizer = transformer.tokenizer
    backend = getattr(hf_tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ExportUnsupported("the model has no fast (tokenizers) tokenizer")
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(backend.to_str())  # a copy: the live one stays untouched
    if model.max_seq_length is None or hf_tokenizer.pad_token_id is None:
        raise ExportUnsupported("the model sets no max_seq_length or has no padding token")
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=model.max_seq_length)
    tokenizer.enable_padding(pad_id=hf_tokenizer.pad_token_id, pad_token=hf_tokenizer.pad_token)
    tokenizer.save(str(folder / "tokenizer.json"))

    names = [n for n in INPUTS if n in hf_tokenizer.model_input_names]
    device = next(transformer.auto_model.parameters()).device
    # Two texts of different lengths, so neither the batch nor the sequence axis is traced as 1.
    sample = tokenizer.encode_batch(["a short one", "a somewhat longer text here"])
    columns = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
    args = tuple(
        torch.tensor([getattr(e, columns[n]) for e in sample], device=device) for n in names
    )
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    graph = _pooled(transformer.auto_model, names, pooling)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation notes about code we do not own
        torch.onnx.export(
            graph,
            args,
            str(folder / "model.onnx"),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,  # the TorchScript exporter needs only the onnx package
        )


def _pipeline(model: SentenceTransformer) -> tuple[Any, str]:
    """The Transformer module and pooling mode of a Transformer -> Pooling [-> Normalize] model."""
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ExportUnsupported(f"modules {kinds}; only Transformer, Pooling[, Normalize]")
    mode = getattr(modules[1], "pooling_mode", None)
    if mode not in ("mean", "cls"):
        raise ExportUnsupported(f"pooling mode {mode!r}; only 'mean' and 'cls'")
    return modules[0], str(mode)


def _torch_vectors(model: SentenceTransformer, texts: Sequence[str]) -> np.ndarray:
    vectors = model.encode(
        list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "none"


def _pooled(transformer: torch.nn.Module, names: Sequence[str], mode: str) -> torch.nn.Module:
    """The transformer with pooling and L2 normalization on top: one graph, one output."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            features = dict(zip(names, inputs, strict=True))
            hidden = self.transformer(**features).last_hidden_state  # (batch, seq, dim)
            if mode == "cls":
                pooled = hidden[:, 0]
            else:  # mean over the real tokens: padding is masked out
                mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (b, seq, 1)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)  # (batch, dim)

    return Pooled().eval()
