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



def write_pcm_video(path, codec: str = "pcm_s16le", layout: str = "stereo", seconds: float = 0.8, rate: int = 48000):
    """10 frames of H.264 with ``seconds`` of PCM audio in ``codec`` (s16 or u8 samples), as
    cameras, screen recorders and WAV-in-AVI files have it."""
    import numpy as np

    from vidsr.video.colour import Colour, rgb_to_frame

    sample_format = "u8" if codec == "pcm_u8" else "s16"
    channels = av.AudioLayout(layout).nb_channels
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 32, 24, "yuv420p"
        audio = container.add_stream(codec, rate=rate)
        audio.layout = layout
        for index, rgb in enumerate(pattern_frames(10, 24, 32)):
            frame = rgb_to_frame(rgb, Colour(), "yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, 25)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        total = round(seconds * rate)
        for start in range(0, total, 1024):
            tone = 0.2 * np.sin(2 * np.pi * 440 * (start + np.arange(min(1024, total - start))) / rate)
            samples = (tone * 127 + 128).astype(np.uint8) if sample_format == "u8" else (tone * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(np.repeat(samples, channels)[None], format=sample_format, layout=layout)
            frame.sample_rate, frame.pts = rate, start
            for packet in audio.encode(frame):
                container.mux(packet)
        for packet in audio.encode(None):
            container.mux(packet)
    return path


@pytest.mark.parametrize(
    ("source", "codec", "segment_frames"),
    [("in.avi", "pcm_s16le", 0), ("in.mkv", "pcm_s16le", 0), ("in.mov", "pcm_s16le", 0), ("in.avi", "pcm_u8", 0),
     ("in.avi", "pcm_s16le", 4)],
    ids=["wav-in-avi", "mkv", "mov", "avi-u8", "avi-segments"],
)  # fmt: skip
def test_pcm_audio_into_mp4_is_reencoded_to_aac(tmp_path, source, codec, segment_frames):
    """MP4 takes PCM only as ISO ipcm (FFmpeg 7+), which few players read, and not at all with
    an unnamed channel layout (AVI, Matroska): the file failed as it was closed."""
    source = write_pcm_video(tmp_path / source, codec)
    out = tmp_path / "out.mp4"
    warnings: list[str] = []
    upscale_video(source, out, model="raw", quiet=True, on_warning=warnings.append, segment_frames=segment_frames)
    with av.open(str(out)) as container:
        audio = container.streams.audio[0].codec_context
        assert (audio.name, audio.channels, audio.sample_rate) == ("aac", 2, 48000)
    said = "does not carry PCM audio that players read" if codec == "pcm_s16le" else f"cannot hold {codec}"
    assert any(f"(audio, {codec}): mp4 {said}; re-encoded to aac" in w for w in warnings), warnings
    assert len(probe(out, decode_rgb=False).times) == 10
    assert abs(decoded_audio_seconds(out) - decoded_audio_seconds(source)) <= Fraction(1024, 48000)  # one AAC frame


@pytest.mark.parametrize("suffix", [".mkv", ".mov", ".avi"])
def test_pcm_audio_is_copied_where_the_container_holds_it(tmp_path, suffix):
    source = write_pcm_video(tmp_path / "in.avi", layout="mono")
    out = tmp_path / f"out{suffix}"
    upscale_video(source, out, model="raw", quiet=True, on_warning=lambda message: None)
    got, given = probe(out, decode_rgb=False), probe(source, decode_rgb=False)
    assert ("audio", "pcm_s16le") in got.streams
    assert b"".join(p[0] for p in got.packet_data["audio"]) == b"".join(p[0] for p in given.packet_data["audio"])
