"""Is the x264 round trip of vidsr.data.real.compress_clip repeatable? Encodes one 20-frame
clip 20 times in one process and prints the stream sizes (all equal if it is)."""
import numpy as np, hashlib, sys
from vidsr.data.real import compress_clip, VideoCodec
rng = np.random.default_rng(0)
base = rng.integers(0, 255, (1, 64, 96, 3), dtype=np.uint8)
frames = np.concatenate([np.roll(base, i, axis=2) for i in range(20)])
print([compress_clip(frames, VideoCodec("libx264", 33, "medium")).bytes for _ in range(20)])
