"""Local generation with transformers: a Hugging Face id, a local folder, or a GGUF file.

Prompts are sorted by length and generated in left-padded batches under ``inference_mode``,
so little compute goes to padding. A GGUF checkpoint is dequantized once and cached as
safetensors under ``cache_dir``: parsing GGUF metadata costs ~25 s a load on a 2-core CPU,
the cached copy loads in about a second.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from shipwise.cache import staged_folder
from shipwise.errors import ConfigError, GenerationError
from shipwise.locks import exclusive
from shipwise.models.base import (
    Completion,
    GenerationSettings,
    ModelInfo,
    Price,
    ProgressCallback,
    TokenCounting,
)
from shipwise.models.constrained import TokenTrie
from shipwise.models.decoding import generate_batch
from shipwise.models.prefix_cache import PrefixCache
from shipwise.progress import status
from shipwise.tasks.example import Messages

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class LocalGenerator:
    """A causal LM run in this process (CPU, or CUDA when present and ``device=auto``)."""

    constrains = True  # can restrict answers to a task's allowed outputs (see constrained.py)

    def __init__(
        self,
        path: str,
        gguf_file: str | None = None,
        name: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 8,
        cache_dir: str | None = None,
        price: Price | Mapping[str, float] | None = None,
        share_prefix: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ConfigError("batch_size must be at least 1", where="model.batch_size")
        self.path = path
        self.gguf_file = gguf_file
        self.device_setting = device
        self.dtype_setting = dtype
        self.batch_size = batch_size
        self.share_prefix = share_prefix
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else None
        source = f"{path}/{gguf_file}" if gguf_file else path
        self._info = ModelInfo(
            name=name or Path(gguf_file or path).stem,
            source=source,
            price=Price.coerce(price),
            fingerprint=weights_fingerprint(Path(path).expanduser(), gguf_file),
        )
        self._model: PreTrainedModel | None = None
        self._loader: Callable[[], PreTrainedModel] | None = None  # other weights, on first use
        self._tokenizer: PreTrainedTokenizerBase | None = None
        self._tries: dict[tuple[tuple[str, ...], int], TokenTrie] = {}
        self._prefixes = PrefixCache()  # keys and values of shared prompt prefixes, per weights

    @property
    def info(self) -> ModelInfo:
        return self._info

    def load(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        """Load (once) and return the model and tokenizer; the fine-tune arm trains on these."""
        if self._model is None or self._tokenizer is None:
            with status(f"Loading {self._info.name}"):
                self._model, self._tokenizer = self._load()
        return self._model, self._tokenizer

    def _load(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        model = self._loader() if self._loader is not None else self.fresh_model()
        return model, self.tokenizer()

    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The tokenizer alone (data validation counts tokens without loading the weights)."""
        if self._tokenizer is not None:
            return self._tokenizer
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(self._tokenizer_source())
        except OSError as exc:
            raise ConfigError(
                f"cannot load the tokenizer of {self.path!r}: {exc}", where="model.path"
            ) from None
        tokenizer.padding_side = "left"  # decoder-only models continue from the right edge
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._tokenizer = tokenizer
        return tokenizer

    def token_counting(self) -> TokenCounting:
        """The tokenizer's own counts and its chat template's framing (no weights loaded)."""
        from shipwise.models.tokens import hf_counting

        return hf_counting(self.tokenizer(), self._info.name, self.context_window())

    def context_window(self) -> int | None:
        """The model's longest input in tokens, from its config (None when it does not say)."""
        try:
            config = json.loads((Path(self._tokenizer_source()) / "config.json").read_text())
        except (OSError, ValueError):
            return None
        value = config.get("max_position_embeddings")
        return int(value) if isinstance(value, int) else None

    def fresh_model(self) -> PreTrainedModel:
        """A new copy of the weights in eval mode (training must not touch the base model)."""
        from transformers import AutoModelForCausalLM

        device = resolve_device(self.device_setting)
        try:
            model = AutoModelForCausalLM.from_pretrained(
                self._source(), dtype=resolve_dtype(self.dtype_setting, device)
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot load model {self.path!r}: {exc}",
                where="model.path",
                fix="use a local folder, a GGUF file, or a hub id reachable from this machine",
            ) from None
        model.to(device)  # type: ignore[arg-type]  # transformers types .to() narrowly
        model.eval()
        return model

    def with_model(self, model: PreTrainedModel, name: str, fingerprint: str) -> LocalGenerator:
        """This generator's settings and tokenizer around other weights (a fine-tuned model)."""
        clone = self._clone(name, fingerprint)
        clone._model = model
        return clone

    def with_weights(
        self, loader: Callable[[], PreTrainedModel], name: str, fingerprint: str
    ) -> LocalGenerator:
        """As :meth:`with_model`, the weights loaded by ``loader`` when first needed.

        A re-run whose answers are all cached then never loads them (nor the base model).
        """
        clone = self._clone(name, fingerprint)
        clone._loader = loader
        return clone

    def _clone(self, name: str, fingerprint: str) -> LocalGenerator:
        clone = LocalGenerator.__new__(LocalGenerator)
        clone.__dict__.update(self.__dict__)
        clone._info = ModelInfo(
            name=name, source=self._info.source, price=self._info.price, fingerprint=fingerprint
        )
        # the same tokenizer, loaded when first needed if it is not yet
        clone._model, clone._loader, clone._tries = None, None, {}
        clone._prefixes = PrefixCache()  # other weights, other keys and values
        return clone

    def _source(self) -> str:
        """Where transformers loads from: the dequantized copy of a GGUF, a folder, or an id."""
        local = Path(self.path).expanduser()
        if self.gguf_file:
            return str(self._dequantized_copy(self._gguf()))
        return str(local) if local.exists() else self.path

    def _tokenizer_source(self) -> str:
        """Where the tokenizer (and config.json) load from without dequantizing any weights.

        For a GGUF: its dequantized copy once made, else a tokenizer-only folder beside it,
        extracted from the GGUF once (reading a GGUF's vocabulary takes seconds).
        """
        copy = self._copy_folder() if self.gguf_file else None
        if copy is None or (copy / "model.safetensors").is_file():
            return self._source()
        folder = copy.with_name(copy.name + "-tokenizer")
        if not (folder / "config.json").is_file():
            with exclusive(folder, "extracting the tokenizer"):
                if not (folder / "config.json").is_file():
                    self._extract_tokenizer(self._gguf(), folder)
        return str(folder)

    @staticmethod
    def _extract_tokenizer(gguf: Path, folder: Path) -> None:
        from transformers import AutoConfig, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        config = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name).to_dict()
        config.pop("quantization_config", None)
        with staged_folder(folder) as staging:
            tokenizer.save_pretrained(str(staging))
            (staging / "config.json").write_text(json.dumps(config, indent=1))

    def _gguf(self) -> Path:
        """The GGUF file, or a clear error when it is not there."""
        local = Path(self.path).expanduser()
        if not (local / str(self.gguf_file)).is_file():
            raise ConfigError(
                f"GGUF file {self.gguf_file!r} not found in {local}",
                where="model.gguf_file",
                fix="check model.path and model.gguf_file (is the model package installed?)",
            )
        return local / str(self.gguf_file)

    def _dequantized_copy(self, gguf: Path) -> Path:
        """A safetensors copy of the GGUF weights, made once, reused while the file is unchanged."""
        target = self._copy_folder()
        if (target / "model.safetensors").is_file():
            return target
        with exclusive(target, "the dequantized model copy"):
            if not (target / "model.safetensors").is_file():  # made while this run waited?
                self._dequantize(gguf, target)
        return target

    def _copy_folder(self) -> Path:
        """Where the dequantized copy of the GGUF lives (whether or not it is made yet)."""
        import transformers

        if self.cache_dir is None:
            self.cache_dir = Path(tempfile.gettempdir()) / "shipwise-models"
        key = hashlib.sha256(
            f"{self._info.fingerprint}|{transformers.__version__}".encode()
        ).hexdigest()[:16]
        return self.cache_dir / "models" / f"{Path(str(self.gguf_file)).stem}-{key}"

    @staticmethod
    def _dequantize(gguf: Path, target: Path) -> None:
        from safetensors.torch import save_model
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        with staged_folder(target) as staging:
            config = model.config.to_dict()
            config.pop("quantization_config", None)  # the copy is plain float weights
            (staging / "config.json").write_text(json.dumps(config, indent=1))
            save_model(model, str(staging / "model.safetensors"))
            tokenizer.save_pretrained(str(staging))
            model.generation_config.save_pretrained(str(staging))

    def render(self, prompt: Messages) -> str:
        tokenizer = self.tokenizer()
        text = tokenizer.apply_chat_template(
            [m.as_dict() for m in prompt], add_generation_prompt=True, tokenize=False
        )
        return str(text)

    def generate(
        self,
        prompts: Sequence[Messages],
        settings: GenerationSettings,
        on_progress: ProgressCallback | None = None,
    ) -> list[Completion]:
        import torch

        model, tokenizer = self.load()
        rows = self.tokenize([self.render(p) for p in prompts])
        limit = int(getattr(model.config, "max_position_embeddings", 1 << 30))
        for index, row in enumerate(rows):
            if len(row) + settings.max_new_tokens > limit:
                raise GenerationError(
                    f"prompt {index} has {len(row)} tokens; with {settings.max_new_tokens} new"
                    f" tokens it exceeds the model's context of {limit}",
                    where="strategy",
                    fix="use fewer demonstrations (strategy.demos.k) or shorter inputs",
                )
        # Longest first: similar lengths share a batch, so padding stays small.
        order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))
        results: list[Completion | None] = [None] * len(rows)
        if settings.temperature > 0:
            torch.manual_seed(settings.seed)
        trie = self._trie(settings.allowed, self.end_token()) if settings.allowed else None
        started = time.perf_counter()
        if self.share_prefix and len(rows) > 1:
            self._prefixes.shared(model, rows)  # what every prompt of the call starts with
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            batch_rows = [rows[i] for i in batch]
            prefix = self._prefixes.shared(model, batch_rows) if self.share_prefix else None
            completions = generate_batch(
                model, tokenizer, batch_rows, settings, self.end_tokens(), prefix, trie, started
            )
            for i, completion in zip(batch, completions, strict=True):
                results[i] = completion
            if on_progress:
                on_progress(len(batch))
            started = time.perf_counter()
        return [r for r in results if r is not None]

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of rendered prompts (the template already holds any special tokens)."""
        tokenizer = self.tokenizer()
        return [list(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def end_token(self) -> int:
        """The token that ends an answer (the first of the model's end-of-sequence ids)."""
        return self.end_tokens()[0]

    def end_tokens(self) -> list[int]:
        """Every token that ends an answer: the model's end-of-sequence ids."""
        model, tokenizer = self.load()
        value = model.generation_config.eos_token_id or tokenizer.eos_token_id
        return [int(v) for v in value] if isinstance(value, list | tuple) else [int(value)]

    def _trie(self, allowed: tuple[str, ...], end: int) -> TokenTrie:
        """The allowed answers as tokens, tokenized as they follow the generation prompt."""
        key = (allowed, end)
        if key not in self._tries:
            tokenizer = self.tokenizer()
            encoded = tokenizer(list(allowed), add_special_tokens=False)["input_ids"]
            self._tries[key] = TokenTrie([[*ids, end] for ids in encoded])
        return self._tries[key]


def weights_fingerprint(path: Path, gguf_file: str | None) -> str:
    """File names, sizes and mtimes of local weights (cheap, and changes when they do)."""
    if not path.exists():
        return str(path)  # a hub id: the id names the weights
    files = [path / gguf_file] if gguf_file else sorted(p for p in path.rglob("*") if p.is_file())
    stats = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.exists()]
    return hashlib.sha256(repr((str(path.resolve()), stats)).encode()).hexdigest()[:16]


def resolve_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


def resolve_dtype(setting: str, device: str) -> torch.dtype:
    import torch

    if setting == "auto":
        # fp32 on the CPU: bf16 autocast measured slower on CPUs without AMX.
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[
            setting
        ]
    except KeyError:
        raise ConfigError(
            f"unknown dtype {setting!r}",
            where="model.dtype",
            fix="use auto, float32, bfloat16 or float16",
        ) from None
