"""Audio that has to be re-encoded for the output container (issue 17, point 3): resampled
to a rate the encoder takes, and as long as it was."""

from __future__ import annotations

from fractions import Fraction

import av
import pytest
from video_support import decoded_audio_seconds, probe

from vidsr.video.pipeline import upscale_video
from vidsr.video.synthetic import pattern_frames, write_video

pytestmark = pytest.mark.usefixtures("tiny_tensors")


@pytest.mark.parametrize(
    ("encoder", "rate", "expected"),
    [("libopus", 44100, 48000), ("libopus", 16000, 16000), ("libopus", 96000, 48000), ("libopus", 11025, 12000),
     ("aac", 44100, 44100), ("flac", 44100, 44100)],
)  # fmt: skip
def test_encoder_rate_is_one_the_encoder_takes(encoder, rate, expected):
    from vidsr.video.remux import encoder_rate

    codec = av.codec.Codec(encoder, "w")
    assert encoder_rate(codec, rate) == expected
    assert codec.audio_rates is None or expected in codec.audio_rates


@pytest.mark.parametrize(("rate", "opus_rate"), [(44100, 48000), (22050, 24000)])
def test_audio_at_44k_into_webm_is_resampled_for_opus(tmp_path, rate, opus_rate):
    source = write_video(tmp_path / "in.mp4", pattern_frames(10, 24, 32), audio_seconds=0.6, audio_rate=rate)
    out = tmp_path / "out.webm"
    warnings: list[str] = []
    upscale_video(source, out, model="raw", quiet=True, on_warning=warnings.append)
    with av.open(str(out)) as container:
        audio = container.streams.audio[0].codec_context
        assert audio.name == "opus"
    assert any(f"re-encoded to libopus at {opus_rate} Hz (from {rate} Hz)" in w for w in warnings)
    assert len(probe(out, decode_rgb=False).times) == 10
    # As long as the input's audio, to within one sample at the input's rate.
    assert abs(decoded_audio_seconds(out) - decoded_audio_seconds(source)) <= Fraction(1, rate)

