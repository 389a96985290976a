from __future__ import annotations

import pytest

from talkavocado.domain.keys import JobKeys, parse_env, parse_job_id, parse_tenant_id, safe_filename
from talkavocado.errors import InvalidKey, ValidationFailed

JOB = "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69"
OTHER_JOB = "0b6c0a57-0f4e-4a43-9a55-6d1f0f7b2c11"


@pytest.mark.parametrize("value", ["dev", "stage", "prod", "test"])
def test_known_envs_are_accepted(value: str) -> None:
    assert parse_env(value) == value


def test_env_defaults_to_dev_when_unset() -> None:
    assert parse_env(None) == "dev"


@pytest.mark.parametrize("value", ["production", "DEV", "qa", " dev"])
def test_unknown_env_is_an_error_not_silently_dev(value: str) -> None:
    with pytest.raises(ValidationFailed, match="TALKAVOCADO_ENV"):
        parse_env(value)


@pytest.mark.parametrize("value", ["a", "demo-tenant", "t_1", "0", "a" * 64])
def test_valid_tenant_ids(value: str) -> None:
    assert parse_tenant_id(value) == value


@pytest.mark.parametrize(
    "value",
    ["", "-a", "a-", "Demo", "a b", "a/b", "../x", "a" * 65, "tenant!", 7, None],
)
def test_invalid_tenant_ids_are_refused(value: object) -> None:
    with pytest.raises(ValidationFailed):
        parse_tenant_id(value)


def test_canonical_job_id_is_accepted() -> None:
    assert parse_job_id(JOB) == JOB


@pytest.mark.parametrize(
    "value",
    [
        JOB.upper(),
        JOB.replace("-", ""),
        "{" + JOB + "}",
        f"../other-tenant/{JOB}",
        "not-a-uuid",
        "",
        None,
    ],
)
def test_non_canonical_job_ids_are_refused(value: object) -> None:
    with pytest.raises(ValidationFailed):
        parse_job_id(value)


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("sample.mp4", "sample.mp4"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\talk.mov", "talk.mov"),
        ("my talk; rm -rf ~.mp4", "my_talk_rm_-rf_.mp4"),
        (".hidden.mp4", "hidden.mp4"),
        ("café.mp4", "cafe.mp4"),
        ("$(reboot)`id`.mp4", "reboot_id_.mp4"),
    ],
)
def test_filenames_are_reduced_to_a_safe_base_name(given: str, safe: str) -> None:
    assert safe_filename(given) == safe


def test_long_filenames_are_shortened_keeping_the_extension() -> None:
    name = safe_filename("x" * 400 + ".mp4")
    assert len(name) == 255
    assert name.endswith(".mp4")


@pytest.mark.parametrize("given", ["", "...", "///", "\u4e2d\u6587"])
def test_filename_without_usable_characters_is_refused(given: str) -> None:
    with pytest.raises(ValidationFailed):
        safe_filename(given)


def test_job_keys_follow_the_canonical_layout() -> None:
    keys = JobKeys("dev", "demo-tenant", JOB)
    assert keys.manifest == f"dev/demo-tenant/{JOB}/manifest.json"
    assert keys.input == f"dev/demo-tenant/{JOB}/input/source"
    assert keys.audio == f"dev/demo-tenant/{JOB}/audio/{JOB}.mp3"
    assert keys.audio_pcm == f"dev/demo-tenant/{JOB}/audio/{JOB}.wav"
    assert keys.transcript_json == f"dev/demo-tenant/{JOB}/transcripts/transcript.json"
    assert keys.captions_srt == f"dev/demo-tenant/{JOB}/transcripts/captions.source.srt"
    assert keys.cut_plan == f"dev/demo-tenant/{JOB}/plan/cut_plan.json"
    assert keys.base_cuts_render == f"dev/demo-tenant/{JOB}/renders/base_cuts.mp4"
    assert keys.preview_render == f"dev/demo-tenant/{JOB}/renders/preview.mp4"


def test_job_keys_refuse_invalid_parts() -> None:
    with pytest.raises(ValidationFailed):
        JobKeys("dev", "../evil", JOB)
    with pytest.raises(ValidationFailed):
        JobKeys("dev", "demo-tenant", "x")


@pytest.mark.parametrize(
    "key",
    [
        f"dev/other-tenant/{JOB}/manifest.json",
        f"dev/demo-tenant/{OTHER_JOB}/manifest.json",
        f"dev/demo-tenant/{JOB}/../{OTHER_JOB}/manifest.json",
        f"dev/demo-tenant/{JOB}/",
        f"dev/demo-tenant/{JOB}//manifest.json",
        f"/dev/demo-tenant/{JOB}/manifest.json",
        f"dev/demo-tenant/{JOB}/input\\..\\x",
        f"prod/demo-tenant/{JOB}/manifest.json",
    ],
)
def test_keys_outside_the_job_prefix_are_refused(key: str) -> None:
    with pytest.raises(InvalidKey):
        JobKeys("dev", "demo-tenant", JOB).check(key)


def test_the_job_a_key_belongs_to_is_read_back_from_the_key() -> None:
    keys = JobKeys("dev", "demo-tenant", JOB)
    assert JobKeys.owning(keys.input) == keys
    for foreign in ["garbage", f"dev/demo-tenant/{JOB}", "dev/../etc/passwd", f"xx/t/{JOB}/a"]:
        with pytest.raises(InvalidKey):
            JobKeys.owning(foreign)
