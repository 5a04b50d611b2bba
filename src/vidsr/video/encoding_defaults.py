"""Encoder settings shared by the writer, the pipeline and the degradations (a leaf module: no imports)."""

from __future__ import annotations

# Quality of H.264/VP9 output (x264/libvpx CRF): visually near-lossless, lower is better.
DEFAULT_CRF = 18
# x264's speed/size trade-off (--preset), chosen by measurement (benchmarks/inference.py
# --presets; README): at CRF 18 on 720p model output, veryfast encodes 2.6x faster than
# medium (15 vs 40 ms/frame on 2 EPYC cores) into files of the same size, 0.2 dB lower in
# PSNR-Y against the model's output (43.2 vs 43.4 dB); in `vidsr upscale` the encoder's
# time adds to the model's, so the faster preset raises the end-to-end rate by half.
DEFAULT_PRESET = "veryfast"
# The highest CRF of each encoder with one (x264 and x265 stop at 51; libvpx, AV1: 63).
MAX_CRF = {"libx264": 51, "libx264rgb": 51, "libx265": 51}
MAX_CRF_OTHERS = 63
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
# x265's AVX (and AVX2, AVX-512) kernels corrupt the heap on frames narrower than one 64-pixel
# CTU at some widths (8, 40 and 48 wide at heights up to 64: the process aborts, "corrupted
# size vs. prev_size"; python benchmarks/x265_width.py): below that width x265 is kept to
# SSE4.2 (x265_narrow_params). x265 sets its kernels up once per process, with the first
# encoder's "asm": after a wider frame has been encoded, SSE4.2 can no longer be had, and a
# narrow frame would corrupt the heap (benchmarks/x265_width.py, "after 96"): the writer refuses it then, and the
# compressed degradation (vidsr.data.real) pads narrow clips to 64 pixels instead.
X265_SAFE_WIDTH = 64
X265_NARROW_ASM = "sse4.2"
_x265_kernels: list[str] = []  # the "asm" of the first x265 encoder that vidsr opened in this process


def x265_narrow_params(width: int) -> str | None:
    """The x265 parameter for an encoder of frames ``width`` pixels wide (``asm=sse4.2`` below
    :data:`X265_SAFE_WIDTH`, else None), noting the kernels x265 sets up for the process.
    Raises ValueError for a narrow frame once x265's faster kernels are set up."""
    narrow = width < X265_SAFE_WIDTH
    if not _x265_kernels:
        _x265_kernels.append(X265_NARROW_ASM if narrow else "auto")
    if narrow and _x265_kernels[0] != X265_NARROW_ASM:
        raise ValueError(
            f"x265 cannot encode frames {width} pixels wide in this process: its AVX kernels, set up by an "
            f"earlier, wider video, corrupt memory below {X265_SAFE_WIDTH} pixels (use libx264, or a new process)"
        )
    return f"asm={X265_NARROW_ASM}" if narrow else None


def crf_problem(crf: int, codec: str) -> str | None:
    """Why ``crf`` is out of ``codec``'s range (None when it is in it)."""
    top = MAX_CRF.get(codec, MAX_CRF_OTHERS)
    if 0 <= crf <= top:
        return None
    return f"--crf must be from 0 to {top} for {codec}, not {crf}"
