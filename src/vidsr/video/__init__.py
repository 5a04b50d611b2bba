"""Video in, video out: ``vidsr upscale``, ``vidsr compare``, ``vidsr demo``.

* :mod:`.reader` - PyAV decoding (or a folder of frames) to uint8 RGB (uint16 for 10-bit video), with checks.
* :mod:`.colour` - YUV <-> RGB with the input's matrix and range, and the tags; alpha planes.
* :mod:`.hdr` - HDR10 mastering-display and light-level metadata, read and written again.
* :mod:`.sidedata` - a frame's side data, also of types newer than PyAV (EXIF of FFmpeg 8).
* :mod:`.quantiser` - how hard a video was compressed (its quantiser; lossless codecs), for the denoise default.
* :mod:`.timecode` - SMPTE timecodes (drop-frame too) moved to the first frame written.
* :mod:`.writer` - encoding with the input's timestamps, colour, rotation, pixel aspect and alpha; PNG folders; images.
* :mod:`.encoding_defaults` - the default CRF and x264 preset (a leaf module).
* :mod:`.remux` - audio and subtitle streams copied (or re-encoded, converted) into the output.
* :mod:`.tiling` - overlapping tiles with one streamer each, for large frames.
* :mod:`.inference` - model loading, (tiled) streamer, the model stage.
* :mod:`.threads` - bounded reader/writer threads around the model.
* :mod:`.safety` - temporary output moved into place only on success; stale ones removed.
* :mod:`.pipeline` - :func:`~vidsr.video.pipeline.upscale_video`, the frame flow and ``DEFAULT_MODEL``.
* :mod:`.selection` - time ranges (``--start``/``--duration``/``--frames``) and segment spans.
* :mod:`.jobs` - one input to one output, in one pass or in resumable segments; ``--dry-run``.
* :mod:`.segments` - a long job's work folder: journal, finished segments, claims.
* :mod:`.batch` - batches of inputs, and the work shared between ``torchrun`` ranks.
* :mod:`.messages` - warnings and notes on stderr; sizes in words.
* :mod:`.compare` - side-by-side and split-line comparison videos (``vidsr compare``).
* :mod:`.demo` - ``vidsr demo``, the whole job on a short clip.
* :mod:`.synthetic` - test-pattern videos for the tests and benchmarks.
"""
